"""The delivery sweep: sends what is due on its channel, outside the Kafka handlers, so a slow or
failing SMTP server never holds up consuming.

Each due queue entry is claimed with a lease (a conditional update on the small queue), so two
replicas do not send the same delivery at once; holding the lease, the sweep reads and writes the
notification by its `_id` (the emulator uses no other index, see servicekit.mongo). The outcome (the
attempt, the new status and NotificationSent or NotificationFailed) is one write of the notification
with its outbox; the queue entry is removed or moved to the next attempt afterwards. A crash between
the send and that write sends again on the next sweep (at-least-once on outside channels; the
Message-ID and Idempotency-Key derived from the notification let the receiver recognise the repeat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from mentorship_schemas.events import NotificationChannel
from prometheus_client import Counter
from servicekit.aggregates import Emitted

from notifications.channels import Channel, DeliveryError, Outgoing
from notifications.domain.delivery import Drop, Hold, QueuedDelivery, next_step
from notifications.domain.notification import DIGEST_KIND, Notification, RetryPolicy
from notifications.domain.recipient import Recipient, recipient_id
from notifications.domain.texts import texts_for
from notifications.ports import Stores

log = logging.getLogger(__name__)
DELIVERIES = Counter(
    "mentorship_notification_deliveries_total",
    "Delivery outcomes per channel: sent, retry, failed, skipped, deferred (quiet hours or cap).",
    ["channel", "outcome"],
)
_Change = Callable[[Notification], list[Emitted]]


class Outcome(StrEnum):
    """What the sweep did with a delivery (the metric's `outcome`)."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"  # quiet hours or the daily cap


def _count(channel: NotificationChannel, outcome: Outcome) -> None:
    DELIVERIES.labels(channel=channel.value, outcome=outcome.value).inc()


@dataclass(frozen=True)
class DeliveryPolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 100
    lease: timedelta = timedelta(minutes=2)
    concurrency: int = 8


class Deliveries:
    def __init__(
        self, stores: Stores, channels: Mapping[NotificationChannel, Channel], policy: DeliveryPolicy
    ) -> None:
        self._stores = stores
        self._channels = channels
        self._policy = policy
        self._limit = asyncio.Semaphore(policy.concurrency)

    async def sweep(self, now: datetime) -> int:
        """Deliver what is due at `now`; returns how many events were written."""
        due = await self._stores.queue.due(now, self._policy.batch_size)
        return sum(await asyncio.gather(*(self._guarded(entry, now) for entry in due)))

    async def _guarded(self, entry: QueuedDelivery, now: datetime) -> int:
        async with self._limit:
            try:
                if not await self._stores.queue.claim(entry, now, self._policy.lease):
                    return 0
                return await self.deliver(entry, now)
            except Exception:
                log.exception("delivery %s failed unexpectedly; it stays queued", entry.id)
                return 0

    async def deliver(self, entry: QueuedDelivery, now: datetime) -> int:
        """Make one claimed delivery: show, send, hold or drop it. Returns the events written."""
        channel = entry.channel
        notification = await self._stores.notifications.get(entry.notification_id)
        delivery = notification.delivery(channel) if notification is not None else None
        if notification is None or delivery is None or not delivery.pending:
            await self._stores.queue.remove(entry.id)  # erased, or delivered by another replica
            return 0
        if channel is NotificationChannel.IN_APP:
            _count(channel, Outcome.SENT)
            return await self._record(entry, notification, lambda n: n.deliver_in_app(now))
        recipient = await self._stores.recipients.get(
            recipient_id(notification.org_id, notification.recipient_id)
        )
        step = next_step(
            notification, channel, recipient=recipient, configured=channel in self._channels, now=now
        )
        if isinstance(step, Drop):
            _count(channel, Outcome.SKIPPED)
            return await self._record(entry, notification, lambda n: n.skip(channel, step.reason))
        if isinstance(step, Hold):
            _count(channel, Outcome.DEFERRED)
            await self._stores.queue.retry_at(entry.id, step.until)
            return 0
        assert recipient is not None
        if step.cap is not None and not await self._take_send_slot(
            entry, notification, recipient, step.cap, now
        ):
            return 0
        outgoing = await self._outgoing(notification, recipient, channel)
        if outgoing is None:
            await self._stores.queue.remove(entry.id)
            return 0
        try:
            await self._channels[channel].send(outgoing, now=now)
        except DeliveryError as error:
            return await self._failed(entry, notification, now, error)
        _count(channel, Outcome.SENT)
        return await self._record(entry, notification, lambda n: n.record_sent(channel, now))

    async def _record(self, entry: QueuedDelivery, notification: Notification, change: _Change) -> int:
        """Save the outcome with its events, then let go of the queue entry."""
        saved = await self._stores.notifications.change(notification.id, change)
        await self._stores.queue.remove(entry.id)
        return len(saved.emitted) if saved is not None else 0

    async def _take_send_slot(
        self, entry: QueuedDelivery, notification: Notification, recipient: Recipient, cap: int, now: datetime
    ) -> bool:
        """Count the send against the recipient's daily cap, or hold it until the next local day.
        Concurrent deliveries cannot both take the last slot: the counter is one conditional write."""
        channel, category = entry.channel, notification.category
        saved = await self._stores.recipients.change(
            recipient.id, lambda r: r.take_send_slot(channel, category, cap, now)
        )
        decision = saved.result if saved is not None else None
        if decision is None or not decision.allowed:
            _count(channel, Outcome.DEFERRED)
            retry_at = decision.retry_at if decision is not None else None
            await self._stores.queue.retry_at(entry.id, retry_at or now + timedelta(minutes=1))
            return False
        await self._stores.notifications.change(notification.id, lambda n: n.count_against_cap(channel))
        return True

    async def _outgoing(
        self, notification: Notification, recipient: Recipient, channel: NotificationChannel
    ) -> Outgoing | None:
        title, body = notification.title, notification.body
        if notification.kind == DIGEST_KIND:
            # Close the summary first: a message arriving from now on goes out on its own.
            closed = await self._stores.notifications.change(notification.id, lambda n: n.close_digest())
            entries = closed.result if closed is not None else None
            if not entries:
                return None
            title, body = notification.summary(entries)
        return Outgoing(
            notification_id=notification.id,
            kind=notification.kind,
            recipient_id=notification.recipient_id,
            recipient_name=recipient.display_name or notification.recipient_id,
            recipient_email=recipient.email,
            title=title,
            body=body,
            action=notification.action or "",
            calendar=notification.calendar if channel is NotificationChannel.EMAIL else None,
            sender_name=texts_for(notification.language)("program.name"),
        )

    async def _failed(
        self, entry: QueuedDelivery, notification: Notification, now: datetime, error: DeliveryError
    ) -> int:
        channel = entry.channel
        saved = await self._stores.notifications.change(
            notification.id,
            lambda n: n.record_failure(
                channel, now, error=str(error), transient=error.transient, retry=self._policy.retry
            ),
        )
        retry_at = saved.result if saved is not None else None
        if retry_at is not None:
            log.warning("delivery %s failed, retrying at %s: %s", entry.id, retry_at, error)
            _count(channel, Outcome.RETRY)
            await self._stores.queue.retry_at(entry.id, retry_at)
            return 0
        log.error("delivery %s failed for good: %s", entry.id, error)
        _count(channel, Outcome.FAILED)
        await self._stores.queue.remove(entry.id)
        return len(saved.emitted) if saved is not None else 0
