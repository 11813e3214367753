"""Notifications' subscribers: one in-app notification per (recipient, cause event, kind)."""

from __future__ import annotations

from mentorship_schemas import (
    CloudEvent,
    NotificationSent,
    PairCreated,
    ProfileRegistered,
    SessionMissed,
)
from mentorship_schemas.events import NotificationChannel
from pymongo.errors import DuplicateKeyError
from servicekit.ids import derived_id
from servicekit.outbox import new_document
from servicekit.runtime import ServiceRuntime

from notifications.domain.messages import Message, for_pair_created, for_session_missed


def register(runtime: ServiceRuntime) -> None:
    notifications = runtime.db["notifications"]
    recipients = runtime.db["recipients"]

    async def deliver(org_id: str, envelope: CloudEvent, messages: list[Message]) -> None:
        now = runtime.clock.now()
        for message in messages:
            # Derived from (recipient, cause, kind): a redelivery or a replica hits the same _id.
            notification_id = derived_id(message.recipient_id, envelope.id, message.kind)
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
            document = {
                "_id": notification_id,
                "org_id": org_id,
                "recipient_id": message.recipient_id,
                "kind": message.kind,
                "title": message.title,
                "body": message.body,
                "channel": NotificationChannel.IN_APP.value,
                "cause_event_id": envelope.id,
                "cause_type": envelope.type,
                "created_at": now,
                "read_at": None,
                "version": 1,
            }
            try:
                await notifications.insert_one(
                    new_document(
                        document,
                        [runtime.entry(sent, event_id=derived_id(notification_id, "sent"))],
                    )
                )
            except DuplicateKeyError:
                continue
        runtime.events_written()

    @runtime.consumer.on(ProfileRegistered)
    async def on_profile_registered(event: ProfileRegistered, envelope: CloudEvent) -> None:
        await recipients.update_one(
            {"_id": f"{event.org_id}:{event.person_id}"},
            {
                "$set": {
                    "org_id": event.org_id,
                    "person_id": event.person_id,
                    "display_name": event.display_name,
                    "email": event.email,
                    "timezone": event.timezone,
                }
            },
            upsert=True,
        )

    @runtime.consumer.on(PairCreated)
    async def on_pair_created(event: PairCreated, envelope: CloudEvent) -> None:
        names = {
            doc["person_id"]: doc["display_name"]
            async for doc in recipients.find(
                {
                    "_id": {
                        "$in": [
                            f"{event.org_id}:{event.mentor_id}",
                            f"{event.org_id}:{event.mentee_id}",
                        ]
                    }
                }
            )
        }
        await deliver(event.org_id, envelope, for_pair_created(event, names))

    @runtime.consumer.on(SessionMissed)
    async def on_session_missed(event: SessionMissed, envelope: CloudEvent) -> None:
        await deliver(event.org_id, envelope, for_session_missed(event))
