"""The delivery queue's entries and the sweep's decision for one due delivery: send it, hold it until
the recipient's quiet hours end, or drop it (and why). The recipient's current preferences apply,
as they may have changed since the delivery was planned. Pure: the time is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mentorship_schemas.events import NotificationChannel

from notifications.domain.notification import Notification, SkipReason
from notifications.domain.preferences import Category, end_of_quiet_hours
from notifications.domain.recipient import Recipient


def queue_key(notification_id: str, channel: NotificationChannel) -> str:
    return f"{notification_id}:{channel.value}"


@dataclass(frozen=True)
class QueuedDelivery:
    """One delivery still to make: the small record the sweep scans (never the notifications)."""

    id: str
    org_id: str
    recipient_id: str
    notification_id: str
    channel: NotificationChannel
    due_at: datetime
    urgent: bool = False  # pointless after a moment (an invite, a reminder): taken before a backlog
    lease_until: datetime | None = None

    @classmethod
    def of(
        cls, notification: Notification, channel: NotificationChannel, due_at: datetime, *, urgent: bool
    ) -> QueuedDelivery:
        return cls(
            id=queue_key(notification.id, channel),
            org_id=notification.org_id,
            recipient_id=notification.recipient_id,
            notification_id=notification.id,
            channel=channel,
            due_at=due_at,
            urgent=urgent,
        )


def queue_entries(notification: Notification) -> list[QueuedDelivery]:
    """The queue entries a notification's scheduled deliveries need."""
    return [
        QueuedDelivery.of(notification, channel, delivery.due_at, urgent=delivery.expires_at is not None)
        for channel, delivery in notification.deliveries.items()
        if delivery.pending and delivery.due_at is not None
    ]


@dataclass(frozen=True)
class Send:
    cap: int | None  # the daily cap this send counts against; None: it does not count


@dataclass(frozen=True)
class Hold:
    until: datetime


@dataclass(frozen=True)
class Drop:
    reason: str


Step = Send | Hold | Drop


def next_step(
    notification: Notification,
    channel: NotificationChannel,
    *,
    recipient: Recipient | None,
    configured: bool,
    now: datetime,
) -> Step:
    """What to do with a due delivery on an outside channel (email, chat)."""
    delivery = notification.deliveries[channel]
    if not configured:  # switched off in the settings since it was planned
        return Drop(SkipReason.NOT_CONFIGURED)
    expires_at = delivery.expires_at
    if expires_at is not None and now >= expires_at:
        return Drop(SkipReason.TOO_LATE)
    if recipient is None or recipient.erased:
        return Drop(SkipReason.RECIPIENT_UNKNOWN)
    preference = recipient.preference_for(notification.category)
    if not preference.allows(channel):
        return Drop(SkipReason.CHANNEL_OFF)
    quiet_end = end_of_quiet_hours(now, recipient.tz, preference.quiet_hours)
    if quiet_end > now and (expires_at is None or quiet_end < expires_at):
        return Hold(quiet_end)
    counts = notification.category is not Category.DIGEST and not delivery.cap_counted
    return Send(preference.max_per_day if counts else None)
