"""Sessions' Kafka handlers and sweeps: thin adapters from an event (or the time) to a use case.

PairCreated / CircleFormed start a relationship; PairEnded ends it; ProfileRegistered /
ProfileUpdated keep our copy of the person; ProfileErased takes the person out of every
relationship and forgets them. Sweeps read only what is due from the time-partitioned due
indexes: session ends -> SessionMissed, action item due dates -> ActionItemOverdue, health checks
-> Stagnant/Recovered.
Each handler takes the `SessionsContext` first; `register` binds it once (see app.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from mentorship_schemas import (
    CircleFormed,
    CloudEvent,
    Event,
    PairCreated,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
)
from servicekit.due_index import DueEntry
from servicekit.runtime import ServiceRuntime

from sessions.domain.attendance import missed_cutoff
from sessions.domain.people import Person
from sessions.domain.statuses import RelationshipKind
from sessions.use_cases import lifecycle
from sessions.use_cases.context import DueIndex, SessionsContext
from sessions.use_cases.lifecycle import Pairing


def _pairing(event: PairCreated | PairEnded) -> Pairing:
    return Pairing(
        relationship_id=event.pair_id,
        org_id=event.org_id,
        program_id=event.program_id,
        kind=RelationshipKind.PAIR,
        participant_ids=(event.mentee_id, event.mentor_id),
        mentor_id=event.mentor_id,
        mentee_id=event.mentee_id,
    )


async def on_pair_created(ctx: SessionsContext, event: PairCreated, envelope: CloudEvent) -> None:
    await lifecycle.start_relationship(ctx, _pairing(event), envelope.time)  # a redelivery changes nothing


async def on_circle_formed(ctx: SessionsContext, event: CircleFormed, envelope: CloudEvent) -> None:
    pairing = Pairing(
        relationship_id=event.circle_id,
        org_id=event.org_id,
        program_id=event.program_id,
        kind=RelationshipKind.CIRCLE,
        participant_ids=tuple(event.member_ids),
        facilitator_rota=tuple(event.facilitator_rota),
        topics=tuple(event.topics),
    )
    await lifecycle.start_relationship(ctx, pairing, envelope.time)


async def on_pair_ended(ctx: SessionsContext, event: PairEnded, envelope: CloudEvent) -> None:
    await lifecycle.end_relationship(ctx, _pairing(event), event.reason, event.ended_at)


async def on_profile_changed(
    ctx: SessionsContext, event: ProfileRegistered | ProfileUpdated, envelope: CloudEvent
) -> None:
    moved = isinstance(event, ProfileUpdated) and "timezone" in event.changed_fields
    await lifecycle.keep_person(ctx, Person.of_profile(event), moved=moved)


async def on_profile_erased(ctx: SessionsContext, event: ProfileErased, envelope: CloudEvent) -> None:
    await lifecycle.erase_person(ctx, event.org_id, event.person_id)


ContextHandler = Callable[[SessionsContext, Any, CloudEvent], Awaitable[None]]
HANDLERS: tuple[tuple[type[Event], ContextHandler], ...] = (
    (PairCreated, on_pair_created),
    (CircleFormed, on_circle_formed),
    (PairEnded, on_pair_ended),
    (ProfileRegistered, on_profile_changed),
    (ProfileUpdated, on_profile_changed),
    (ProfileErased, on_profile_erased),
)


# ---------------------------------------------------------------- sweeps


async def sweep_missed_sessions(ctx: SessionsContext, now: datetime, batch: int) -> int:
    """Sessions not held by their end plus the grace period, nor cancelled -> SessionMissed.
    Its event id derives from the session, and the write is conditional on the version: two
    replicas sweeping at once yield one event."""
    return await _sweep(
        ctx,
        ctx.due.session_ends,
        missed_cutoff(now, ctx.policy.grace),
        batch,
        lambda entry: lifecycle.miss_session(ctx, entry.payload["pair_id"], entry.key),
    )


async def sweep_overdue_action_items(ctx: SessionsContext, now: datetime, batch: int) -> int:
    """Open action items past their due date -> ActionItemOverdue (once per due date)."""
    return await _sweep(
        ctx,
        ctx.due.action_items,
        now,
        batch,
        lambda entry: lifecycle.flag_overdue_action_item(ctx, entry.payload["pair_id"], entry.key),
    )


async def sweep_relationship_health(ctx: SessionsContext, now: datetime, batch: int) -> int:
    """Re-assess pairs whose health time alone may have changed -> Stagnant / Recovered."""
    return await _sweep(
        ctx,
        ctx.due.health_checks,
        now,
        batch,
        lambda entry: lifecycle.reassess_health(ctx, entry.payload["pair_id"]),
    )


async def _sweep(
    ctx: SessionsContext,
    index: DueIndex,
    cutoff: datetime,
    batch: int,
    act: Callable[[DueEntry], Awaitable[int]],
) -> int:
    """Act on each due entry (the use case decides from the relationship), then drop it."""
    emitted = 0
    for entry in await index.find_due(cutoff, batch):
        emitted += await act(entry)
        await index.remove(entry)
    await index.tidy(ctx.now())
    return emitted


Sweep = Callable[[SessionsContext, datetime, int], Awaitable[int]]
SWEEPS: tuple[tuple[str, Sweep], ...] = (
    ("missed-sessions", sweep_missed_sessions),
    ("overdue-action-items", sweep_overdue_action_items),
    ("relationship-health", sweep_relationship_health),
)


@dataclass(frozen=True)
class SweepSchedule:
    every_seconds: float
    batch: int


def register(runtime: ServiceRuntime, ctx: SessionsContext, schedule: SweepSchedule) -> None:
    """Bind the context to every handler and sweep, once."""
    for event_type, handler in HANDLERS:
        runtime.consumer.add(event_type, partial(handler, ctx))
    for name, sweep in SWEEPS:
        runtime.sweep(name, schedule.every_seconds, partial(_run_sweep, sweep, ctx, batch=schedule.batch))


async def _run_sweep(sweep: Sweep, ctx: SessionsContext, now: datetime, *, batch: int) -> int:
    return await sweep(ctx, now, batch)
