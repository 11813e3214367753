"""What the notifications service does, in one place:

- tell people what an event means for them, once per (recipient, cause event, kind), on the
  channels they want (`Notify`: `announce`, `pair_created`, `session_scheduled`,
  `session_cancelled`);
- keep a copy of each person's profile and forget them on erasure (`People.keep_profile`,
  `People.erase`); their preferences and the org's escalation contacts (`People`);
- deliver what is due on email and chat, retrying and recording each attempt
  (`Deliveries.sweep`);
- serve a person's feed, mark it read, and forget old notifications (`Feed`).

Each use case takes its stores as ports (ports.py), so the tests run them in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mentorship_schemas.events import NotificationChannel

from notifications.channels import Channel
from notifications.ports import Stores
from notifications.use_cases.deliver import Deliveries, DeliveryPolicy
from notifications.use_cases.feed import Feed
from notifications.use_cases.notify import Notify, NotifyPolicy
from notifications.use_cases.people import ContactDetails, People

__all__ = [
    "ContactDetails",
    "Deliveries",
    "DeliveryPolicy",
    "Feed",
    "NotificationsUseCases",
    "Notify",
    "NotifyPolicy",
    "People",
]


@dataclass(frozen=True)
class NotificationsUseCases:
    """The service's use cases, built once; handlers and routes reach them through this."""

    notify: Notify
    people: People
    deliveries: Deliveries
    feed: Feed

    @classmethod
    def build(
        cls,
        stores: Stores,
        *,
        now: Callable[[], datetime],
        channels: Mapping[NotificationChannel, Channel],
        notify: NotifyPolicy,
        delivery: DeliveryPolicy,
        retention: timedelta,
    ) -> NotificationsUseCases:
        return cls(
            notify=Notify(stores, now, notify),
            people=People(stores, now),
            deliveries=Deliveries(stores, channels, delivery),
            feed=Feed(stores, now, keep=retention),
        )
