"""The notifications service in memory, for use-case tests without a server: the ports (ports.py)
as dicts, the aggregates in `InMemoryAggregates`, and channels that record what they were given and
can fail first, as SMTP servers and webhooks do."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mentorship_schemas import (
    Event,
    NotificationFailed,
    NotificationSent,
    ProfileRegistered,
)
from mentorship_schemas.events import NotificationChannel, PersonRole
from notifications.channels import DeliveryError, Outgoing
from notifications.domain.delivery import QueuedDelivery
from notifications.domain.notification import Cause, Notification, Planning, RetryPolicy
from notifications.domain.recipient import Recipient, recipient_id
from notifications.domain.reminders import SessionReminders
from notifications.ports import FeedPage, Stores
from notifications.use_cases import DeliveryPolicy, NotificationsUseCases, NotifyPolicy
from servicekit.aggregates import InMemoryAggregates
from servicekit.clock import ManualClock

START = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday, 12:00 UTC
EMAIL, CHAT, IN_APP = NotificationChannel.EMAIL, NotificationChannel.CHAT, NotificationChannel.IN_APP


class MemoryQueue:
    def __init__(self) -> None:
        self.entries: dict[str, QueuedDelivery] = {}

    async def enqueue(self, entry: QueuedDelivery) -> None:
        self.entries.setdefault(entry.id, entry)

    async def due(self, now: datetime, limit: int) -> list[QueuedDelivery]:
        due = [e for e in self.entries.values() if e.due_at <= now]
        return sorted(due, key=lambda e: (not e.urgent, e.due_at))[:limit]

    async def claim(self, entry: QueuedDelivery, now: datetime, lease: timedelta) -> bool:
        current = self.entries.get(entry.id)
        if current is None or current.due_at != entry.due_at:
            return False
        if current.lease_until is not None and current.lease_until > now:
            return False
        self.entries[entry.id] = dataclasses.replace(current, lease_until=now + lease)
        return True

    async def retry_at(self, entry_id: str, at: datetime) -> None:
        if entry_id in self.entries:
            self.entries[entry_id] = dataclasses.replace(self.entries[entry_id], due_at=at, lease_until=None)

    async def remove(self, entry_id: str) -> None:
        self.entries.pop(entry_id, None)

    async def forget_recipient(self, org_id: str, recipient_id: str) -> None:
        for key, entry in list(self.entries.items()):
            if (entry.org_id, entry.recipient_id) == (org_id, recipient_id):
                del self.entries[key]


class MemoryIndex:
    """Queries over the notifications an `InMemoryAggregates` holds."""

    def __init__(
        self, notifications: InMemoryAggregates[Notification], recipients: InMemoryAggregates[Recipient]
    ) -> None:
        self._notifications = notifications
        self._recipients = recipients

    async def erased_among(self, org_id: str, person_ids: list[str]) -> list[str]:
        return [
            p
            for p in person_ids
            if self._recipients.documents.get(recipient_id(org_id, p), {}).get("erased") is True
        ]

    def _all(self) -> list[Notification]:
        return [Notification.model_validate(doc) for doc in self._notifications.documents.values()]

    async def feed(
        self, org_id: str, recipient_id: str, *, unread_only: bool, offset: int, limit: int
    ) -> FeedPage:
        feed = [n for n in self._all() if (n.org_id, n.recipient_id) == (org_id, recipient_id) and n.in_feed]
        feed.sort(key=lambda n: n.id)
        feed.sort(key=lambda n: n.feed_at or n.created_at, reverse=True)
        listed = [n for n in feed if n.read_at is None] if unread_only else feed
        unread = sum(n.read_at is None for n in feed)
        return FeedPage(items=listed[offset : offset + limit], total=len(listed), unread=unread)

    async def unread(self, org_id: str, recipient_id: str) -> list[str]:
        page = await self.feed(org_id, recipient_id, unread_only=True, offset=0, limit=10_000)
        return [n.id for n in page.items]

    async def mentioning(self, org_id: str, person_id: str) -> list[str]:
        return [n.id for n in self._all() if n.org_id == org_id and person_id in n.mentions]

    async def forget_recipient(self, org_id: str, recipient_id: str) -> None:
        for n in self._all():
            if (n.org_id, n.recipient_id) == (org_id, recipient_id):
                del self._notifications.documents[n.id]

    async def forget_published_before(self, cutoff: datetime) -> None:
        for n in self._all():  # in memory every event is published at once
            if n.created_at < cutoff:
                del self._notifications.documents[n.id]


class MemoryContacts:
    def __init__(self) -> None:
        self.admin_ids: dict[str, list[str]] = {}

    async def admins(self, org_id: str) -> list[str]:
        return list(self.admin_ids.get(org_id, []))

    async def add(self, org_id: str, person_id: str) -> None:
        admins = self.admin_ids.setdefault(org_id, [])
        if person_id not in admins:
            admins.append(person_id)

    async def remove(self, org_id: str, person_id: str) -> None:
        if person_id in self.admin_ids.get(org_id, []):
            self.admin_ids[org_id].remove(person_id)


class MemoryPairs:
    def __init__(self) -> None:
        self.mentees: dict[tuple[str, str], str] = {}

    async def remember(self, org_id: str, pair_id: str, *, mentor_id: str, mentee_id: str) -> None:
        self.mentees[(org_id, pair_id)] = mentee_id

    async def mentee_of(self, org_id: str, pair_id: str) -> str | None:
        return self.mentees.get((org_id, pair_id))

    async def forget_person(self, org_id: str, person_id: str, stand_in: str) -> None:
        for key, mentee in self.mentees.items():
            if key[0] == org_id and mentee == person_id:
                self.mentees[key] = stand_in


@dataclass
class RecordingChannel:
    """A Channel (channels.py) that keeps what it sent; `failures` are raised first, in order."""

    failures: list[DeliveryError] = field(default_factory=list)
    sent: list[Outgoing] = field(default_factory=list)
    tries: int = 0

    async def send(self, outgoing: Outgoing, *, now: datetime) -> None:
        await asyncio.sleep(0)  # a real channel waits on the network: other deliveries run meanwhile
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(outgoing)

    def kinds(self, recipient_id: str) -> list[str]:
        return [o.kind for o in self.sent if o.recipient_id == recipient_id]


@dataclass
class World:
    """The use cases on in-memory stores, a clock moved by hand, and recording channels."""

    use_cases: NotificationsUseCases
    stores: Stores
    notifications: InMemoryAggregates[Notification]
    recipients: InMemoryAggregates[Recipient]
    queue: MemoryQueue
    contacts: MemoryContacts
    clock: ManualClock
    email: RecordingChannel
    chat: RecordingChannel
    org: str = "acme"

    async def sweep(self) -> int:
        return await self.use_cases.deliveries.sweep(self.clock.now())

    async def register(
        self, person: str, name: str, timezone: str = "UTC", *, version: int = 1, locale: str = "en"
    ) -> None:
        await self.use_cases.people.keep_profile(
            ProfileRegistered(
                org_id=self.org,
                version=version,
                person_id=person,
                roles=[PersonRole.MENTEE],
                display_name=name,
                email=f"{person}@example.com",
                timezone=timezone,
                locale=locale,
            )
        )

    async def of(self, person: str) -> list[Notification]:
        documents = self.notifications.documents.values()
        return [
            Notification.model_validate(d)
            for d in documents
            if (d["org_id"], d["recipient_id"]) == (self.org, person)
        ]

    async def one(self, person: str, kind: str) -> Notification:
        [found] = [n for n in await self.of(person) if n.kind == kind]
        return found

    def published(self, event_type: type[Event]) -> list[Event]:
        return [e.event for e in self.notifications.published if isinstance(e.event, event_type)]

    def sent_on(self, channel: NotificationChannel, recipient: str | None = None) -> list[NotificationSent]:
        return [
            e
            for e in self.published(NotificationSent)
            if isinstance(e, NotificationSent)
            and e.channel is channel
            and (recipient is None or e.recipient_id == recipient)
        ]

    def failed(self) -> list[NotificationFailed]:
        return [e for e in self.published(NotificationFailed) if isinstance(e, NotificationFailed)]


def world(
    *,
    email_failures: Sequence[DeliveryError] = (),
    chat_failures: Sequence[DeliveryError] = (),
    max_attempts: int = 4,
    batch_size: int = 100,
) -> World:
    notifications = InMemoryAggregates(Notification)
    recipients = InMemoryAggregates(Recipient)
    queue, contacts = MemoryQueue(), MemoryContacts()
    stores = Stores(
        notifications=notifications,
        recipients=recipients,
        reminders=InMemoryAggregates(SessionReminders),
        queue=queue,
        index=MemoryIndex(notifications, recipients),
        contacts=contacts,
        pairs=MemoryPairs(),
    )
    clock = ManualClock(START)
    email, chat = RecordingChannel(list(email_failures)), RecordingChannel(list(chat_failures))
    use_cases = NotificationsUseCases.build(
        stores,
        now=clock.now,
        channels={EMAIL: email, CHAT: chat},
        notify=NotifyPolicy(Planning(available=frozenset(NotificationChannel))),
        delivery=DeliveryPolicy(RetryPolicy(max_attempts, 60, 3600), batch_size=batch_size),
        retention=timedelta(days=180),
    )
    return World(use_cases, stores, notifications, recipients, queue, contacts, clock, email, chat)


def cause(event: Event, event_id: str = "event-1") -> Cause:
    return Cause(event_id=event_id, event_type=event.ce_type())
