"""Profiles' subscribers, one typed function per consumed event: a mentor's load follows PairCreated
and PairEnded (idempotently, in any order). `subscribe` binds them to the use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from mentorship_schemas import CloudEvent, Event, PairCreated, PairEnded
from servicekit.consumer import EventConsumer

from profiles.use_cases import Profiles


async def on_pair_created(profiles: Profiles, event: PairCreated, envelope: CloudEvent) -> None:
    await profiles.count_pair_started(event.org_id, event.mentor_id, event.pair_id, cause_id=envelope.id)


async def on_pair_ended(profiles: Profiles, event: PairEnded, envelope: CloudEvent) -> None:
    await profiles.count_pair_ended(event.org_id, event.mentor_id, event.pair_id, cause_id=envelope.id)


HANDLERS: tuple[tuple[type[Event], Callable[[Profiles, Any, CloudEvent], Awaitable[None]]], ...] = (
    (PairCreated, on_pair_created),
    (PairEnded, on_pair_ended),
)


def subscribe(consumer: EventConsumer, profiles: Profiles) -> None:
    for event_type, handler in HANDLERS:
        consumer.add(event_type, partial(handler, profiles))
