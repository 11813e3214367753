"""Notifications' collections and how their documents are keyed.

- `notifications`: one document per (recipient, cause event, kind), `_id` derived from the three,
  holding the message, its per-channel deliveries with every attempt, and the outbox for
  NotificationSent / NotificationFailed. Digests are notifications too (kind `digest`).
- `delivery_queue`: one small document per delivery still to make (`<notification id>:<channel>`,
  `due_at`, a lease); removed when the delivery is done. The delivery sweep reads only this, so
  the big collection is only ever read by `_id` (the emulator uses no other index: servicekit.mongo).
- `recipients`: our copy of each person's name, contact points, timezone, locale (profile events)
  and their notification preferences (set over HTTP); a tombstone after erasure.
- `pairs`: who is mentor and mentee in each pair (PairCreated), to address the agenda prompt.
- `escalation_contacts`: per org, the program admins who receive escalations and proposed matches
  to approve.
- `session_reminders`: per session, the version last scheduled and the ids of its pending
  reminders, so a reschedule or a cancellation withdraws them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]

NOTIFICATIONS = "notifications"
DELIVERY_QUEUE = "delivery_queue"
RECIPIENTS = "recipients"
PAIRS = "pairs"
ESCALATION_CONTACTS = "escalation_contacts"
SESSION_REMINDERS = "session_reminders"


def person_key(org_id: str, person_id: str) -> str:
    return f"{org_id}:{person_id}"


def queue_key(notification_id: str, channel: str) -> str:
    return f"{notification_id}:{channel}"


async def create_indexes(
    notifications: AsyncCollection[Document], delivery_queue: AsyncCollection[Document]
) -> None:
    await notifications.create_index(
        [("org_id", ASCENDING), ("recipient_id", ASCENDING), ("in_feed", ASCENDING), ("feed_at", DESCENDING)],
        name="org_recipient_feed",
    )
    await delivery_queue.create_index([("due_at", ASCENDING)], name="due_at")


async def forget_old_notifications(
    notifications: AsyncCollection[Document], *, now: datetime, keep: timedelta
) -> int:
    """Retention: drop notifications older than `keep` whose events are published. Keeps the
    collection (which the outbox relay and the feed scan on the emulator) from growing without bound."""
    await notifications.delete_many({"created_at": {"$lt": now - keep}, "outbox_pending": False})
    return 0  # no events written
