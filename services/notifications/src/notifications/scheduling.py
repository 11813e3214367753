"""From messages to stored notifications with planned deliveries, exactly once.

Each notification's `_id` derives from (recipient, cause event id, kind), so a redelivered event,
a restart mid-batch or a second replica hits the same document: the insert fails with a duplicate
key and we only make sure its follow-ups (queue entries, digest membership) exist, which are
idempotent themselves. An in-app message due now enters the feed with its NotificationSent in
the same single-document write.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from mentorship_schemas import CloudEvent, NotificationSent
from mentorship_schemas.events import NotificationChannel
from pymongo.errors import DuplicateKeyError
from servicekit.ids import derived_id
from servicekit.outbox import new_document
from servicekit.runtime import ServiceRuntime

from notifications import store
from notifications.domain.messages import Directory, Message, Person
from notifications.domain.preferences import (
    Category,
    JoinDigest,
    Preferences,
    SendAt,
    Skip,
    plan_delivery,
    zone,
)

log = logging.getLogger(__name__)
Document = dict[str, Any]
ERASED_NAME = "a former participant"


def sent_event_id(notification_id: str, channel: NotificationChannel) -> str:
    if channel is NotificationChannel.IN_APP:
        return derived_id(notification_id, "sent")  # kept from the first version of the service
    return derived_id(notification_id, channel.value, "sent")


def person_of(document: Document | None, person_id: str) -> Person:
    if document is None:
        return Person(person_id)
    return Person(
        person_id,
        document.get("display_name"),
        document.get("email"),
        document.get("timezone") or "UTC",
        document.get("locale") or "en",
    )


def preferences_of(document: Document | None) -> Preferences:
    raw = (document or {}).get("preferences")
    if not raw:
        return Preferences()
    try:
        return Preferences.model_validate(raw)
    except ValueError:
        log.warning("ignoring unreadable preferences of %s", (document or {}).get("_id"))
        return Preferences()


@dataclass
class Scheduler:
    runtime: ServiceRuntime
    available: frozenset[NotificationChannel]
    digest_send_at: time = time(8)

    @property
    def notifications(self) -> Any:
        return self.runtime.db[store.NOTIFICATIONS]

    @property
    def queue(self) -> Any:
        return self.runtime.db[store.DELIVERY_QUEUE]

    @property
    def recipients(self) -> Any:
        return self.runtime.db[store.RECIPIENTS]

    async def recipient(self, org_id: str, person_id: str) -> Document | None:
        document: Document | None = await self.recipients.find_one(
            {"_id": store.person_key(org_id, person_id)}
        )
        return document

    async def directory(self, org_id: str, person_ids: Iterable[str], *, with_admins: bool) -> Directory:
        """The people named in a message and, when asked, the org's escalation contacts.

        One lookup per `_id`."""
        admins: list[str] = []
        if with_admins:
            contacts = await self.runtime.db[store.ESCALATION_CONTACTS].find_one({"_id": org_id})
            admins = list((contacts or {}).get("admin_ids") or [])
        people = {}
        for person_id in dict.fromkeys([*person_ids, *admins]):
            people[person_id] = person_of(await self.recipient(org_id, person_id), person_id)
        return Directory(people, admins)

    async def notify(
        self,
        org_id: str,
        envelope: CloudEvent,
        messages: list[Message],
        *,
        directory: Directory | None = None,
    ) -> None:
        """Store each message once; `directory` names the people the messages mention, so an
        erasure can find and scrub them later."""
        mentions = sorted(directory.people) if directory is not None else []
        wrote = False
        for message in messages:
            wrote = await self._notify_one(org_id, envelope, message, mentions) or wrote
        if wrote:
            self.runtime.events_written()

    async def _notify_one(
        self, org_id: str, envelope: CloudEvent, message: Message, mentions: list[str]
    ) -> bool:
        now = self.runtime.clock.now()
        notification_id = derived_id(message.recipient_id, envelope.id, message.kind)
        recipient = await self.recipient(org_id, message.recipient_id)
        if recipient is not None and recipient.get("erased"):
            return False
        preference = preferences_of(recipient).for_category(message.category)
        tz = zone((recipient or {}).get("timezone"))
        deliveries: dict[str, Document] = {}
        in_feed = False
        for channel in sorted(message.channels):
            delivery: Document = {"status": "skipped", "attempts": []}
            if channel not in self.available:
                delivery["reason"] = "channel not configured"
            elif (
                channel is NotificationChannel.EMAIL and recipient is not None and not recipient.get("email")
            ):
                # (An unknown recipient may still be registered by the time the sweep delivers.)
                delivery["reason"] = "no email address"
            else:
                plan = plan_delivery(
                    channel,
                    preference,
                    tz,
                    now=now,
                    not_before=message.not_before,
                    expires_at=message.expires_at,
                    digest_send_at=self.digest_send_at,
                )
                if isinstance(plan, Skip):
                    delivery["reason"] = plan.reason
                elif isinstance(plan, JoinDigest):
                    delivery.update(
                        status="digested",
                        digest_key=plan.slot.key,
                        digest_id=derived_id(org_id, message.recipient_id, "digest", channel, plan.slot.key),
                        due_at=plan.slot.due_at,
                    )
                elif isinstance(plan, SendAt) and channel is NotificationChannel.IN_APP and plan.at <= now:
                    delivery.update(status="sent", sent_at=now)
                    in_feed = True
                else:
                    delivery.update(status="scheduled", due_at=plan.at, expires_at=message.expires_at)
            deliveries[channel.value] = delivery
        document: Document = {
            "_id": notification_id,
            "org_id": org_id,
            "recipient_id": message.recipient_id,
            "kind": message.kind,
            "category": message.category.value,
            "title": message.title,
            "body": message.body,
            "action": message.action,
            "calendar": message.calendar,
            "subject_id": message.subject_id,
            "mentions": mentions,
            "cause_event_id": envelope.id,
            "cause_type": envelope.type,
            "created_at": now,
            "in_feed": in_feed,
            "feed_at": now if in_feed else None,
            "read_at": None,
            "deliveries": deliveries,
            "version": 1,
        }
        outbox = []
        if in_feed:
            sent = NotificationSent(
                org_id=org_id,
                version=1,
                notification_id=notification_id,
                recipient_id=message.recipient_id,
                kind=message.kind,
                channel=NotificationChannel.IN_APP,
                cause_event_id=envelope.id,
                sent_at=now,
            )
            outbox.append(
                self.runtime.entry(sent, event_id=sent_event_id(notification_id, NotificationChannel.IN_APP))
            )
        try:
            await self.notifications.insert_one(new_document(document, outbox))
        except DuplicateKeyError:
            existing = await self.notifications.find_one({"_id": notification_id})
            if existing is None:  # erased meanwhile
                return False
            document = existing
            outbox = []
        await self.ensure_follow_ups(document)
        return bool(outbox)

    async def ensure_follow_ups(self, document: Document) -> None:
        """Queue entries for scheduled deliveries and digest membership; safe to repeat."""
        for channel_name, delivery in (document.get("deliveries") or {}).items():
            if delivery.get("status") == "scheduled":
                urgent = delivery.get("expires_at") is not None
                await self.enqueue(document, channel_name, delivery["due_at"], urgent=urgent)
            elif delivery.get("status") == "digested":
                await self._join_digest(document, NotificationChannel(channel_name), delivery)

    async def forget_mentions(self, org_id: str, person_id: str, names: list[str]) -> int:
        """Take an erased person's name and email out of other people's notifications (and drop
        calendar invites naming them). A scan, but erasure is rare."""
        if not names:
            return 0
        pattern = re.compile(
            "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE
        )

        def scrub(text: str | None) -> str | None:
            return pattern.sub(ERASED_NAME, text) if text else text

        scrubbed = 0
        async for doc in self.notifications.find({"org_id": org_id, "mentions": person_id}):
            items = [
                {**i, "title": scrub(i.get("title")), "body": scrub(i.get("body"))}
                for i in doc.get("items") or []
            ]
            await self.notifications.update_one(
                {"_id": doc["_id"]},
                {
                    "$set": {
                        "title": scrub(doc.get("title")),
                        "body": scrub(doc.get("body")),
                        "calendar": None,
                        **({"items": items} if "items" in doc else {}),
                    },
                    "$pull": {"mentions": person_id},
                },
            )
            scrubbed += 1
        return scrubbed

    async def withdraw(self, notification_ids: Iterable[str], reason: str) -> None:
        """Stop deliveries that have not gone out yet (a session was rescheduled or cancelled)."""
        for notification_id in notification_ids:
            for channel in NotificationChannel:
                prefix = f"deliveries.{channel.value}"
                await self.notifications.update_one(
                    {"_id": notification_id, f"{prefix}.status": "scheduled"},
                    {"$set": {f"{prefix}.status": "skipped", f"{prefix}.reason": reason}},
                )
                await self.queue.delete_one({"_id": store.queue_key(notification_id, channel.value)})

    async def enqueue(
        self, document: Document, channel: str, due_at: datetime, *, urgent: bool = False
    ) -> None:
        """`urgent`: the message is pointless after a moment (an invite, a reminder), so the sweep
        takes it before a backlog of others."""
        with contextlib.suppress(DuplicateKeyError):
            await self.queue.update_one(
                {"_id": store.queue_key(document["_id"], channel)},
                {
                    "$setOnInsert": {
                        "org_id": document["org_id"],
                        "recipient_id": document["recipient_id"],
                        "notification_id": document["_id"],
                        "channel": channel,
                        "due_at": due_at,
                        "lease_until": None,
                        "urgent": urgent,
                    }
                },
                upsert=True,
            )

    async def _join_digest(
        self, document: Document, channel: NotificationChannel, delivery: Document
    ) -> None:
        digest_id = delivery["digest_id"]
        item = {"notification_id": document["_id"], "title": document["title"], "body": document["body"]}
        try:
            await self.notifications.update_one(
                {"_id": digest_id, "digest_state": "collecting"},
                {
                    "$addToSet": {"items": item, "mentions": {"$each": document.get("mentions") or []}},
                    "$setOnInsert": {
                        "org_id": document["org_id"],
                        "recipient_id": document["recipient_id"],
                        "kind": "digest",
                        "category": Category.DIGEST.value,
                        "title": "",
                        "body": "",
                        "action": "Open the portal to see the details.",
                        "calendar": None,
                        "subject_id": None,
                        "cause_event_id": delivery["digest_key"],
                        "cause_type": "digest",
                        "created_at": self.runtime.clock.now(),
                        "in_feed": False,
                        "feed_at": None,
                        "read_at": None,
                        "deliveries": {
                            channel.value: {
                                "status": "scheduled",
                                "due_at": delivery["due_at"],
                                "attempts": [],
                            }
                        },
                        "version": 1,
                        "outbox": [],
                        "outbox_pending": False,
                    },
                },
                upsert=True,
            )
        except DuplicateKeyError:
            # That summary is already going out. Unless it already holds this message, send the
            # message on its own instead of losing it.
            holder = await self.notifications.find_one({"_id": digest_id}, {"items": 1})
            if holder is not None and any(
                i.get("notification_id") == document["_id"] for i in holder["items"]
            ):
                return
            now = self.runtime.clock.now()
            await self.notifications.update_one(
                {"_id": document["_id"], f"deliveries.{channel.value}.status": "digested"},
                {
                    "$set": {
                        f"deliveries.{channel.value}.status": "scheduled",
                        f"deliveries.{channel.value}.due_at": now,
                    }
                },
            )
            await self.enqueue(document, channel.value, now)
            return
        await self.enqueue({**document, "_id": digest_id}, channel.value, delivery["due_at"])
