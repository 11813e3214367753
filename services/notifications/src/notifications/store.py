"""Notifications' collections, their indexes, and the MongoDB adapters of the ports (ports.py).

- `notifications`: one document per (recipient, cause event, kind), `_id` derived from the three,
  holding the message, its per-channel deliveries with every attempt, and the outbox for
  NotificationSent / NotificationFailed (domain/notification.py). Digests are notifications too.
- `delivery_queue`: one small document per delivery still to make (`<notification id>:<channel>`,
  `due_at`, a lease); removed when the delivery is done. The delivery sweep reads only this, so
  the big collection is only ever read by `_id` (the emulator uses no other index: servicekit.mongo).
- `recipients`: our copy of each person (profile events) and their notification preferences
  (domain/recipient.py); a tombstone after erasure.
- `pairs`: who is mentor and mentee in each pair (PairCreated), to address the agenda prompt.
- `escalation_contacts`: per org, the program admins who receive escalations and proposed matches.
- `session_reminders`: per session, the version last scheduled and its pending reminders
  (domain/reminders.py).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from mentorship_schemas.events import NotificationChannel
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from servicekit.aggregates import AggregateStore, Outbox
from servicekit.grouped import Grouped

from notifications.domain.delivery import QueuedDelivery
from notifications.domain.notification import Notification
from notifications.domain.recipient import Recipient, recipient_id
from notifications.domain.reminders import SessionReminders
from notifications.ports import FeedPage, Stores

Document = dict[str, Any]

NOTIFICATIONS = "notifications"
DELIVERY_QUEUE = "delivery_queue"
RECIPIENTS = "recipients"
PAIRS = "pairs"
ESCALATION_CONTACTS = "escalation_contacts"
SESSION_REMINDERS = "session_reminders"
_ERASED: Document = {"erased": True}  # a recipient's tombstone


async def prepare(db: AsyncDatabase[Document]) -> None:
    """At start: the indexes, and a version counter on recipients stored before they had one (the
    aggregate store's conditional write matches on it, and `{version: 0}` does not match a missing
    field)."""
    await db[RECIPIENTS].update_many({"version": {"$exists": False}}, {"$set": {"version": 0}})
    await db[NOTIFICATIONS].create_index(
        [("org_id", ASCENDING), ("recipient_id", ASCENDING), ("in_feed", ASCENDING), ("feed_at", DESCENDING)],
        name="org_recipient_feed",
    )
    await db[DELIVERY_QUEUE].create_index([("due_at", ASCENDING)], name="due_at")


def mongo_stores(
    db: AsyncDatabase[Document], notifications: AsyncCollection[Document], outbox: Outbox
) -> Stores:
    """The stores on MongoDB; `notifications` is the collection whose outbox the relay drains (the
    other aggregates cause no events)."""
    return Stores(
        notifications=AggregateStore(notifications, Notification, outbox),
        recipients=AggregateStore(db[RECIPIENTS], Recipient, outbox),
        reminders=AggregateStore(db[SESSION_REMINDERS], SessionReminders, outbox),
        queue=MongoDeliveryQueue(db[DELIVERY_QUEUE]),
        index=MongoNotificationIndex(notifications),
        contacts=MongoEscalationContacts(db[ESCALATION_CONTACTS]),
        pairs=MongoPairs(db[PAIRS]),
    )


class MongoDeliveryQueue:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._grouped = Grouped(collection)  # a consumer batch's entries go in one bulk write

    async def enqueue(self, entry: QueuedDelivery) -> None:
        fields = {
            "org_id": entry.org_id,
            "recipient_id": entry.recipient_id,
            "notification_id": entry.notification_id,
            "channel": entry.channel.value,
            "due_at": entry.due_at,
            "lease_until": None,
            "urgent": entry.urgent,
        }
        with contextlib.suppress(DuplicateKeyError):  # two upserts raced: the other one inserted it
            await self._grouped.upsert({"_id": entry.id}, {"$setOnInsert": fields})

    async def due(self, now: datetime, limit: int) -> list[QueuedDelivery]:
        found = self.collection.find(
            {"due_at": {"$lte": now}}, sort=[("urgent", -1), ("due_at", 1)], limit=limit
        )
        return [
            QueuedDelivery(
                id=doc["_id"],
                org_id=doc["org_id"],
                recipient_id=doc["recipient_id"],
                notification_id=doc["notification_id"],
                channel=NotificationChannel(doc["channel"]),
                due_at=doc["due_at"],
                urgent=bool(doc.get("urgent")),
                lease_until=doc.get("lease_until"),
            )
            async for doc in found
        ]

    async def claim(self, entry: QueuedDelivery, now: datetime, lease: timedelta) -> bool:
        claimed = await self.collection.update_one(
            {
                "_id": entry.id,
                "due_at": entry.due_at,
                "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
            },
            {"$set": {"lease_until": now + lease}},
        )
        return claimed.modified_count == 1

    async def retry_at(self, entry_id: str, at: datetime) -> None:
        await self.collection.update_one({"_id": entry_id}, {"$set": {"due_at": at, "lease_until": None}})

    async def remove(self, entry_id: str) -> None:
        await self.collection.delete_one({"_id": entry_id})

    async def forget_recipient(self, org_id: str, recipient_id: str) -> None:
        await self.collection.delete_many({"org_id": org_id, "recipient_id": recipient_id})


class MongoNotificationIndex:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._recipients = Grouped(collection.database[RECIPIENTS])

    async def feed(
        self, org_id: str, recipient_id: str, *, unread_only: bool, offset: int, limit: int
    ) -> FeedPage:
        query: Document = {"org_id": org_id, "recipient_id": recipient_id, "in_feed": True}
        listed = {**query, "read_at": None} if unread_only else query
        found = self.collection.find(listed, sort=[("feed_at", -1), ("_id", 1)], skip=offset, limit=limit)
        return FeedPage(
            items=[Notification.model_validate(doc) async for doc in found],
            total=await self.collection.count_documents(listed),
            unread=await self.collection.count_documents({**query, "read_at": None}),
        )

    async def unread(self, org_id: str, recipient_id: str) -> list[str]:
        query = {"org_id": org_id, "recipient_id": recipient_id, "in_feed": True, "read_at": None}
        return [doc["_id"] async for doc in self.collection.find(query, {"_id": 1})]

    async def erased_among(self, org_id: str, person_ids: list[str]) -> list[str]:
        # Only tombstones come back (almost never any): every message asks this after its writes,
        # and reading its recipients whole again doubled what notifications read from the store.
        keys = {recipient_id(org_id, person_id): person_id for person_id in person_ids}
        found = await self._recipients.find_where_any(_ERASED, "_id", list(keys))
        return [keys[document["_id"]] for document in found]

    async def mentioning(self, org_id: str, person_id: str) -> list[str]:
        # A scan on the emulator, but erasure is rare.
        query = {"org_id": org_id, "mentions": person_id}
        return [doc["_id"] async for doc in self.collection.find(query, {"_id": 1})]

    async def forget_recipient(self, org_id: str, recipient_id: str) -> None:
        await self.collection.delete_many({"org_id": org_id, "recipient_id": recipient_id})

    async def forget_published_before(self, cutoff: datetime) -> None:
        # Keeps the collection (which the outbox relay and the feed scan on the emulator) bounded.
        await self.collection.delete_many({"created_at": {"$lt": cutoff}, "outbox_pending": False})


class MongoEscalationContacts:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def admins(self, org_id: str) -> list[str]:
        found = await self.collection.find_one({"_id": org_id})
        return list((found or {}).get("admin_ids") or [])

    async def add(self, org_id: str, person_id: str) -> None:
        await self.collection.update_one(
            {"_id": org_id}, {"$addToSet": {"admin_ids": person_id}}, upsert=True
        )

    async def remove(self, org_id: str, person_id: str) -> None:
        await self.collection.update_one({"_id": org_id}, {"$pull": {"admin_ids": person_id}})


class MongoPairs:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._grouped = Grouped(collection)  # a consumer batch's pairs go in one command

    async def remember(self, org_id: str, pair_id: str, *, mentor_id: str, mentee_id: str) -> None:
        await self._grouped.upsert(
            {"_id": f"{org_id}:{pair_id}"},
            {"$set": {"org_id": org_id, "mentor_id": mentor_id, "mentee_id": mentee_id}},
        )

    async def mentee_of(self, org_id: str, pair_id: str) -> str | None:
        found = await self._grouped.find_by_id(f"{org_id}:{pair_id}")
        return found.get("mentee_id") if found is not None else None

    async def forget_person(self, org_id: str, person_id: str, stand_in: str) -> None:
        for role in ("mentor_id", "mentee_id"):
            await self.collection.update_many({"org_id": org_id, role: person_id}, {"$set": {role: stand_in}})
