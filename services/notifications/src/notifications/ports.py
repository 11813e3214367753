"""What the use cases need of storage beyond loading and saving one aggregate: the delivery queue,
the queries over notifications, the org's escalation contacts and who is mentee in a pair. The
MongoDB adapters are in store.py; the use-case tests use in-memory ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from servicekit.aggregates import Aggregates

from notifications.domain.delivery import QueuedDelivery
from notifications.domain.notification import Notification
from notifications.domain.recipient import Recipient
from notifications.domain.reminders import SessionReminders


class DeliveryQueue(Protocol):
    async def enqueue(self, entry: QueuedDelivery) -> None:
        """Queue it unless an entry with its id is queued already."""

    async def due(self, now: datetime, limit: int) -> list[QueuedDelivery]:
        """Entries due at `now`, urgent ones first, then the oldest."""

    async def claim(self, entry: QueuedDelivery, now: datetime, lease: timedelta) -> bool:
        """Take the entry for `lease` unless another sweep holds it (or moved it) meanwhile."""

    async def retry_at(self, entry_id: str, at: datetime) -> None:
        """Release the entry, due again at `at`."""

    async def remove(self, entry_id: str) -> None: ...

    async def forget_recipient(self, org_id: str, recipient_id: str) -> None: ...


@dataclass(frozen=True)
class FeedPage:
    items: list[Notification]
    total: int
    unread: int


class NotificationIndex(Protocol):
    """Queries over many notifications (the aggregate store reads and writes one by id)."""

    async def feed(
        self, org_id: str, recipient_id: str, *, unread_only: bool, offset: int, limit: int
    ) -> FeedPage:
        """In-feed notifications, newest first."""

    async def unread(self, org_id: str, recipient_id: str) -> list[str]:
        """Ids of the unread notifications in a person's feed."""

    async def erased_among(self, org_id: str, person_ids: list[str]) -> list[str]:
        """Those of `person_ids` whose recipient is a tombstone now."""
        ...

    async def mentioning(self, org_id: str, person_id: str) -> list[str]:
        """Ids of the notifications that name a person."""

    async def forget_recipient(self, org_id: str, recipient_id: str) -> None: ...

    async def forget_published_before(self, cutoff: datetime) -> None:
        """Retention: drop notifications created before `cutoff` whose events are all published."""


class EscalationContacts(Protocol):
    async def admins(self, org_id: str) -> list[str]: ...

    async def add(self, org_id: str, person_id: str) -> None: ...

    async def remove(self, org_id: str, person_id: str) -> None: ...


class Pairs(Protocol):
    async def remember(self, org_id: str, pair_id: str, *, mentor_id: str, mentee_id: str) -> None: ...

    async def mentee_of(self, org_id: str, pair_id: str) -> str | None: ...

    async def forget_person(self, org_id: str, person_id: str, stand_in: str) -> None:
        """An erased person's pairs keep a pseudonym instead of their id."""
        ...


@dataclass(frozen=True)
class Stores:
    """Everything the use cases read and write, as ports."""

    notifications: Aggregates[Notification]
    recipients: Aggregates[Recipient]
    reminders: Aggregates[SessionReminders]
    queue: DeliveryQueue
    index: NotificationIndex
    contacts: EscalationContacts
    pairs: Pairs
