"""What every use case works with: the ports it needs (as Protocols), the context that bundles
them, who is acting, and the one way a relationship is changed and saved.

A change loads the relationship, applies the domain method, lets it settle (cadence topped up,
health re-assessed), and saves it with its events in ONE conditional write. The due dates the
change created are indexed first (`before_write`): an index entry without its session is harmless
(the sweep drops it), a session without its entry would never be swept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from servicekit.aggregates import Aggregates, Emitted, Saved
from servicekit.due_index import DueEntry

from sessions.domain.errors import NotFound
from sessions.domain.notes import Note
from sessions.domain.parts import DueKind
from sessions.domain.people import Person
from sessions.domain.policy import SessionsPolicy
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipStatus

Document = dict[str, Any]
Action = Callable[[Relationship, datetime], list[Emitted]]


class DueIndex(Protocol):
    """Due dates a sweep reads when their time comes (`servicekit.due_index`)."""

    async def put(
        self, key: str, due_at: datetime, payload: Document | None = None, *, now: datetime
    ) -> str: ...

    async def find_due(self, cutoff: datetime, limit: int) -> list[DueEntry]: ...

    async def remove(self, entry: DueEntry) -> None: ...

    async def tidy(self, now: datetime) -> int: ...


@dataclass(frozen=True)
class DueIndexes:
    session_ends: DueIndex
    action_items: DueIndex
    health_checks: DueIndex

    def of(self, kind: DueKind) -> DueIndex:
        return {
            DueKind.SESSION_END: self.session_ends,
            DueKind.ACTION_ITEM: self.action_items,
            DueKind.HEALTH_CHECK: self.health_checks,
        }[kind]


class Notes(Protocol):
    async def add(self, note: Note) -> None: ...

    async def of_author(self, org_id: str, pair_id: str, author_id: str) -> list[Note]: ...

    async def erase_author(self, org_id: str, author_id: str) -> None: ...


class People(Protocol):
    """Our copy of the people in relationships (`domain.people`), fed by profile events."""

    async def keep(self, person: Person) -> bool:
        """Store `person` if it is newer than what we hold (`Person.newer_than`); True if stored."""
        ...

    async def of(self, org_id: str, person_ids: Iterable[str]) -> dict[str, Person]:
        """The people we know of among `person_ids` (tombstones included)."""
        ...


class RelationshipQueries(Protocol):
    """Reads across relationships that the aggregate store (by id) does not answer."""

    async def pair_of_session(self, org_id: str, session_id: str) -> str | None: ...

    async def pairs_of_person(self, org_id: str, person_id: str) -> list[str]: ...

    def in_program(
        self, org_id: str, program_id: str, *, status: RelationshipStatus | None, at_risk: bool | None
    ) -> AsyncIterator[Relationship]: ...


@dataclass(frozen=True)
class SessionsContext:
    """The service's dependencies, built once in app.py and handed to every use case."""

    relationships: Aggregates[Relationship]
    due: DueIndexes
    notes: Notes
    people: People
    queries: RelationshipQueries
    policy: SessionsPolicy
    now: Callable[[], datetime]


@dataclass(frozen=True)
class Actor:
    """Who asks, as the portal vouched for them."""

    person_id: str
    org_id: str
    is_admin: bool = False


class Forbidden(Exception):
    """Someone who may see the relationship but not do this to it (403)."""


async def create(ctx: SessionsContext, relationship: Relationship, emitted: list[Emitted]) -> bool:
    """Insert a new relationship with its first events; False if it already exists."""
    now = ctx.now()
    relationship.plan_health_check(now, ctx.policy.health)

    async def index(saved: Relationship) -> None:
        await index_due_dates(ctx, saved, now)

    return await ctx.relationships.create(relationship, emitted, before_write=index)


async def change(
    ctx: SessionsContext, pair_id: str, action: Action, *, org_id: str | None = None
) -> Saved[Relationship, None] | None:
    """Apply `action` and what follows any change, and save; None if there is no such pair.
    What `action` raises propagates, and nothing is written."""
    now = ctx.now()

    def apply(relationship: Relationship) -> list[Emitted]:
        return action(relationship, now) + relationship.settle(now, ctx.policy)

    async def index(relationship: Relationship) -> None:
        await index_due_dates(ctx, relationship, now)

    saved: Saved[Relationship, None] | None = await ctx.relationships.change(
        pair_id, apply, org_id=org_id, before_write=index
    )
    return saved


async def index_due_dates(ctx: SessionsContext, relationship: Relationship, now: datetime) -> None:
    payload = {"pair_id": relationship.id}
    await asyncio.gather(
        *(ctx.due.of(due.kind).put(due.key, due.at, payload, now=now) for due in relationship.due_dates())
    )


async def visible(ctx: SessionsContext, actor: Actor, pair_id: str) -> Relationship:
    """The pair, for its members and the org's admins; anyone else learns nothing (not found)."""
    relationship = await ctx.relationships.get(pair_id, actor.org_id)
    if relationship is None or not (relationship.is_member(actor.person_id) or actor.is_admin):
        raise NotFound("There is no such pair, or it is not one of yours.")
    return relationship


async def change_as_member(ctx: SessionsContext, actor: Actor, pair_id: str, action: Action) -> Relationship:
    """A member's change to an active relationship; admins who are not members may only look."""
    relationship = await visible(ctx, actor, pair_id)
    if not relationship.is_member(actor.person_id):
        raise Forbidden("Only the pair's members can change it.")

    def guarded(current: Relationship, now: datetime) -> list[Emitted]:
        current.require_active()
        return action(current, now)

    saved = await change(ctx, pair_id, guarded, org_id=actor.org_id)
    if saved is None:
        raise NotFound("There is no such pair, or it is not one of yours.")
    return saved.aggregate
