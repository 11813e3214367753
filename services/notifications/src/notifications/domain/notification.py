"""A notification: one message to one person about one cause, with a delivery per channel and
every attempt on it. Its id derives from (recipient, cause event, kind), so the same cause never
tells a person the same thing twice. State changes return the events they cause: NotificationSent
when a channel delivered it, NotificationFailed when a channel gave up. Digests (summaries that
replace single messages) are notifications too, collecting entries until they go out.

Pure: the time is a parameter; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any

from mentorship_schemas import NotificationFailed, NotificationSent
from mentorship_schemas.events import NotificationChannel
from pydantic import BaseModel, Field
from servicekit.aggregates import AggregateRoot, Emitted
from servicekit.ids import derived_id

from notifications.domain.messages import Message
from notifications.domain.preferences import (
    DEFAULT_PREFERENCES,
    Category,
    DigestMode,
    JoinDigest,
    Skip,
    next_attempt_at,
    plan_delivery,
)
from notifications.domain.recipient import Recipient
from notifications.domain.texts import texts_for

DIGEST_KIND = "digest"


class DeliveryStatus(StrEnum):
    SCHEDULED = "scheduled"  # waits in the delivery queue for its moment
    SENT = "sent"
    FAILED = "failed"  # the channel gave up: a permanent error, or out of attempts
    SKIPPED = "skipped"  # not sent, and `reason` says why
    DIGESTED = "digested"  # goes out inside a summary instead


class DigestState(StrEnum):
    COLLECTING = "collecting"
    SENDING = "sending"  # closed: what arrives from now on goes out on its own


class SkipReason(StrEnum):
    NOT_CONFIGURED = "channel not configured"
    NO_EMAIL = "no email address"
    CHANNEL_OFF = "channel off"
    TOO_LATE = "too late"
    RECIPIENT_UNKNOWN = "recipient unknown"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Cause:
    """The event a notification answers: its id and type. The notification's id derives from the
    event id, or from the `occasion` when the event stands for a state that may be announced again
    (a signature awaited on one revision of an agreement: domain/announcements.py)."""

    event_id: str
    event_type: str
    occasion: str | None = None

    @property
    def key(self) -> str:
        return self.occasion or self.event_id


@dataclass(frozen=True)
class Planning:
    """What this deployment can deliver, and when digests go out (local time)."""

    available: frozenset[NotificationChannel]
    digest_send_at: time = time(8)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        return next_attempt_at(
            attempts,
            now=now,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
        )


def notification_id(recipient_id: str, cause_event_id: str, kind: str) -> str:
    return derived_id(recipient_id, cause_event_id, kind)


def sent_event_id(notification_id: str, channel: NotificationChannel) -> str:
    if channel is NotificationChannel.IN_APP:
        return derived_id(notification_id, "sent")  # kept from the first version of the service
    return derived_id(notification_id, channel.value, "sent")


def failed_event_id(notification_id: str, channel: NotificationChannel) -> str:
    return derived_id(notification_id, channel.value, "failed")


class Attempt(BaseModel):
    at: datetime
    ok: bool
    error: str | None = None
    transient: bool | None = None


class Delivery(BaseModel):
    status: DeliveryStatus
    reason: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    due_at: datetime | None = None
    expires_at: datetime | None = None  # pointless from then on (the session started)
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    cap_counted: bool = False  # already counted against today's cap (a deferred retry counts once)
    digest_key: str | None = None
    digest_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.status is DeliveryStatus.SCHEDULED


class DigestEntry(BaseModel):
    notification_id: str
    title: str
    body: str


class Notification(AggregateRoot):
    recipient_id: str
    kind: str
    category: Category
    title: str
    body: str
    action: str | None = None
    calendar: str | None = None  # iCalendar text (email)
    subject_id: str | None = None
    language: str = "en"  # the language its words are in (the recipient's, when it was written)
    mentions: list[str] = Field(
        default_factory=list
    )  # the people it names, so an erasure finds and scrubs it
    cause_event_id: str
    cause_type: str
    created_at: datetime
    in_feed: bool = False
    feed_at: datetime | None = None
    read_at: datetime | None = None
    deliveries: dict[NotificationChannel, Delivery] = Field(default_factory=dict)
    items: list[DigestEntry] | None = None  # digests only
    digest_state: DigestState | None = None  # digests only

    # ------------------------------------------------------------------ creating

    @classmethod
    def plan(
        cls,
        message: Message,
        *,
        org_id: str,
        cause: Cause,
        recipient: Recipient | None,
        mentions: Sequence[str],
        planning: Planning,
        now: datetime,
    ) -> tuple[Notification, list[Emitted]]:
        """The notification of `message`, with each channel's delivery planned against the
        recipient's preferences; an in-app message due now enters the feed at once."""
        deliveries = {
            channel: _plan_channel(channel, message, org_id, recipient, planning, now)
            for channel in sorted(message.channels)
        }
        notification = cls(
            id=notification_id(message.recipient_id, cause.key, message.kind),
            org_id=org_id,
            recipient_id=message.recipient_id,
            kind=message.kind,
            category=message.category,
            title=message.title,
            body=message.body,
            action=message.action,
            calendar=message.calendar,
            subject_id=message.subject_id,
            language=message.language,
            mentions=sorted(mentions),
            cause_event_id=cause.event_id,
            cause_type=cause.event_type,
            created_at=now,
            deliveries=deliveries,
        )
        in_app = deliveries.get(NotificationChannel.IN_APP)
        due_now = in_app is not None and in_app.pending and in_app.due_at is not None and in_app.due_at <= now
        emitted = notification.deliver_in_app(now) if due_now else []
        notification.version = 1  # a new notification is its first version
        return notification, emitted

    @classmethod
    def digest(
        cls, *, of: Notification, channel: NotificationChannel, delivery: Delivery, now: datetime
    ) -> Notification:
        """An empty summary, collecting, for the slot `of` joins (its `delivery` on `channel`)."""
        assert delivery.digest_id is not None
        assert delivery.digest_key is not None
        return cls(
            id=delivery.digest_id,
            org_id=of.org_id,
            recipient_id=of.recipient_id,
            kind=DIGEST_KIND,
            category=Category.DIGEST,
            title="",
            body="",
            action=texts_for(of.language)("digest.action"),
            language=of.language,
            cause_event_id=delivery.digest_key,
            cause_type=DIGEST_KIND,
            created_at=now,
            deliveries={channel: Delivery(status=DeliveryStatus.SCHEDULED, due_at=delivery.due_at)},
            items=[],
            digest_state=DigestState.COLLECTING,
            version=1,
        )

    # ------------------------------------------------------------------ delivering

    def delivery(self, channel: NotificationChannel) -> Delivery | None:
        return self.deliveries.get(channel)

    def deliver_in_app(self, now: datetime) -> list[Emitted]:
        """Show it in the person's feed."""
        delivery = self.deliveries.get(NotificationChannel.IN_APP)
        if delivery is None or not delivery.pending:
            return []
        self.in_feed = True
        self.feed_at = now
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        return [self._sent(NotificationChannel.IN_APP, now)]

    def record_sent(self, channel: NotificationChannel, now: datetime) -> list[Emitted]:
        delivery = self.deliveries.get(channel)
        if delivery is None or not delivery.pending:
            return []  # recorded already (another replica, or a repeat after a crash)
        delivery.attempts.append(Attempt(at=now, ok=True))
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        return [self._sent(channel, now)]

    def record_failure(
        self, channel: NotificationChannel, now: datetime, *, error: str, transient: bool, retry: RetryPolicy
    ) -> tuple[datetime | None, list[Emitted]]:
        """The attempt, and when to try again; after the last attempt (or a permanent error) the
        channel gives up with NotificationFailed. Returns the next attempt's time, if any."""
        delivery = self.deliveries.get(channel)
        if delivery is None or not delivery.pending:
            return None, []
        attempts = len(delivery.attempts) + 1
        delivery.attempts.append(Attempt(at=now, ok=False, error=error[:500], transient=transient))
        retry_at = retry.next_attempt(attempts, now) if transient else None
        if retry_at is not None:
            delivery.next_attempt_at = retry_at
            return retry_at, []
        delivery.status = DeliveryStatus.FAILED
        failed = NotificationFailed(**self._about(channel), attempts=attempts, error=error[:1000])
        return None, [Emitted(failed, failed_event_id(self.id, channel))]

    def skip(self, channel: NotificationChannel, reason: str) -> list[Emitted]:
        delivery = self.deliveries.get(channel)
        if delivery is not None and delivery.pending:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.reason = reason
        return []

    def withdraw(self, reason: SkipReason) -> list[Emitted]:
        """Stop every delivery that has not gone out yet (its session moved or was cancelled)."""
        for channel in self.deliveries:
            self.skip(channel, reason)
        return []

    def count_against_cap(self, channel: NotificationChannel) -> list[Emitted]:
        delivery = self.deliveries.get(channel)
        if delivery is not None:
            delivery.cap_counted = True
        return []

    def _sent(self, channel: NotificationChannel, now: datetime) -> Emitted:
        sent = NotificationSent(**self._about(channel), sent_at=now)
        return Emitted(sent, sent_event_id(self.id, channel))

    def _about(self, channel: NotificationChannel) -> dict[str, Any]:
        """What NotificationSent and NotificationFailed both say: which message, to whom, on which
        channel, caused by what (at the version this change makes)."""
        return {
            "org_id": self.org_id,
            "version": self.version + 1,
            "notification_id": self.id,
            "recipient_id": self.recipient_id,
            "kind": self.kind,
            "channel": channel,
            "cause_event_id": self.cause_event_id,
        }

    # ------------------------------------------------------------------ digests

    def digest_entry(self) -> DigestEntry:
        return DigestEntry(notification_id=self.id, title=self.title, body=self.body)

    def holds(self, notification_id: str) -> bool:
        return any(entry.notification_id == notification_id for entry in self.items or [])

    def collect(self, entry: Notification) -> tuple[bool, list[Emitted]]:
        """Add `entry` to this summary; False once the summary is going out (the entry must then
        go out on its own). Adding the same entry twice changes nothing."""
        if self.holds(entry.id):
            return True, []
        if self.digest_state is not DigestState.COLLECTING:
            return False, []
        self.items = [*(self.items or []), entry.digest_entry()]
        self.mentions = sorted({*self.mentions, *entry.mentions})
        return True, []

    def close_digest(self) -> tuple[list[DigestEntry], list[Emitted]]:
        """Stop collecting: what arrives from now on goes out on its own. Returns the entries."""
        self.digest_state = DigestState.SENDING
        return list(self.items or []), []

    def summary(self, entries: Sequence[DigestEntry]) -> tuple[str, str]:
        """Title and body of this summary of `entries`, in the summary's language."""
        texts = texts_for(self.language)
        period = "daily" if self.cause_event_id.startswith(DigestMode.DAILY) else "weekly"
        title = texts.plural(f"digest.title.{period}", len(entries))
        lines = [texts("digest.intro"), ""] + [f"- {entry.title}: {entry.body}" for entry in entries]
        return title, "\n".join(lines)

    def send_alone(self, channel: NotificationChannel, now: datetime) -> list[Emitted]:
        """Its summary already went out: deliver this message on its own, now."""
        delivery = self.deliveries.get(channel)
        if delivery is not None and delivery.status is DeliveryStatus.DIGESTED:
            delivery.status = DeliveryStatus.SCHEDULED
            delivery.due_at = now
        return []

    # ------------------------------------------------------------------ the feed and erasure

    def mark_read(self, now: datetime) -> list[Emitted]:
        if self.read_at is None:
            self.read_at = now
        return []

    def forget_person(self, person_id: str, names: Sequence[str]) -> list[Emitted]:
        """Take an erased person's name and email out of this message; drop a calendar naming them."""
        erased = texts_for(self.language)("someone.erased")
        if names:
            pattern = re.compile(
                "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE
            )
            self.title = pattern.sub(erased, self.title)
            self.body = pattern.sub(erased, self.body)
            if self.items is not None:
                self.items = [
                    DigestEntry(
                        notification_id=item.notification_id,
                        title=pattern.sub(erased, item.title),
                        body=pattern.sub(erased, item.body),
                    )
                    for item in self.items
                ]
        self.calendar = None
        self.mentions = [person for person in self.mentions if person != person_id]
        return []


def _plan_channel(
    channel: NotificationChannel,
    message: Message,
    org_id: str,
    recipient: Recipient | None,
    planning: Planning,
    now: datetime,
) -> Delivery:
    if channel not in planning.available:
        return Delivery(status=DeliveryStatus.SKIPPED, reason=SkipReason.NOT_CONFIGURED)
    if channel is NotificationChannel.EMAIL and recipient is not None and not recipient.email:
        # (An unknown recipient may still be registered by the time the sweep delivers.)
        return Delivery(status=DeliveryStatus.SKIPPED, reason=SkipReason.NO_EMAIL)
    preferences = DEFAULT_PREFERENCES if recipient is None else recipient.preferences or DEFAULT_PREFERENCES
    plan = plan_delivery(
        channel,
        preferences.for_category(message.category),
        UTC if recipient is None else recipient.tz,
        now=now,
        not_before=message.not_before,
        expires_at=message.expires_at,
        digest_send_at=planning.digest_send_at,
    )
    if isinstance(plan, Skip):
        return Delivery(status=DeliveryStatus.SKIPPED, reason=plan.reason)
    if isinstance(plan, JoinDigest):
        return Delivery(
            status=DeliveryStatus.DIGESTED,
            digest_key=plan.slot.key,
            digest_id=derived_id(org_id, message.recipient_id, "digest", channel, plan.slot.key),
            due_at=plan.slot.due_at,
        )
    return Delivery(status=DeliveryStatus.SCHEDULED, due_at=plan.at, expires_at=message.expires_at)
