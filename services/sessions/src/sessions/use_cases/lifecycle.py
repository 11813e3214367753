"""What happens to relationships without a member asking: they start (PairCreated, CircleFormed),
end (PairEnded), lose an erased person (ProfileErased), the people we know change
(ProfileRegistered, ProfileUpdated), and what time alone causes (a session missed, an action item
overdue, health changing). Each is idempotent: a repeat changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from mentorship_schemas.events import PairEndReason
from servicekit.aggregates import Emitted
from servicekit.erasure import pseudonym

from sessions.domain.people import Person
from sessions.domain.relationship import MIN_CIRCLE, Relationship
from sessions.domain.statuses import RelationshipKind
from sessions.use_cases.context import Action, SessionsContext, change, create


@dataclass(frozen=True)
class Pairing:
    """Who a new relationship is between, as matching announced it."""

    relationship_id: str
    org_id: str
    program_id: str
    kind: RelationshipKind
    participant_ids: Sequence[str]
    mentor_id: str | None = None
    mentee_id: str | None = None
    facilitator_rota: Sequence[str] = field(default_factory=tuple)
    topics: Sequence[str] = field(default_factory=tuple)

    def draft(
        self, started_at: datetime, ctx: SessionsContext, people: Mapping[str, Person] | None = None
    ) -> Relationship:
        return Relationship.draft(
            relationship_id=self.relationship_id,
            org_id=self.org_id,
            program_id=self.program_id,
            kind=self.kind,
            participant_ids=self.participant_ids,
            started_at=started_at,
            policy=ctx.policy,
            mentor_id=self.mentor_id,
            mentee_id=self.mentee_id,
            facilitator_rota=self.facilitator_rota,
            topics=self.topics,
            people=people,
        )

    def without(self, erased: set[str]) -> Pairing:
        """The pairing without people erased before it reached us."""
        return replace(
            self,
            participant_ids=tuple(p for p in self.participant_ids if p not in erased),
            facilitator_rota=tuple(p for p in self.facilitator_rota if p not in erased),
        )


async def start_relationship(ctx: SessionsContext, pairing: Pairing, started_at: datetime) -> bool:
    """Draft the agreement from the people's profiles and schedule the kick-off -> AgreementDrafted,
    SessionScheduled. False when it exists (a redelivery, or a PairEnded that overtook it: then
    nothing is scheduled). Someone erased before the pairing reached us is in no active
    relationship: such a pair (or a circle left with fewer than two) starts closed."""
    people = await ctx.people.of(pairing.org_id, pairing.participant_ids)
    erased = {person_id for person_id, person in people.items() if person.erased}
    if erased and pairing.kind == RelationshipKind.CIRCLE:
        pairing = pairing.without(erased)
        erased = set() if len(pairing.participant_ids) >= MIN_CIRCLE else erased
    if erased:
        closed = pairing.draft(started_at, ctx)
        return await create(ctx, closed, closed.end(PairEndReason.ERASED, started_at, ctx.now()))
    relationship = pairing.draft(started_at, ctx, people)
    return await create(ctx, relationship, relationship.open(ctx.policy))


async def end_relationship(
    ctx: SessionsContext, pairing: Pairing, reason: PairEndReason, ended_at: datetime
) -> None:
    """Close it and cancel its future sessions. When PairEnded overtook PairCreated, keep a closed
    relationship, so the late PairCreated finds it and schedules nothing."""

    def ending(relationship: Relationship, now: datetime) -> list[Emitted]:
        return relationship.end(reason, ended_at, now)

    if await change(ctx, pairing.relationship_id, ending, org_id=pairing.org_id) is None:
        relationship = pairing.draft(ended_at, ctx)
        await create(ctx, relationship, relationship.end(reason, ended_at, ctx.now()))


async def keep_person(ctx: SessionsContext, person: Person, *, moved: bool = False) -> None:
    """A profile registered or updated: keep our copy (newer versions only, never over an erasure).
    `moved`: their timezone changed, so their active relationships show their new local times."""
    if not await ctx.people.keep(person) or not moved or person.timezone is None:
        return
    timezone = person.timezone
    for pair_id in await ctx.queries.pairs_of_person(person.org_id, person.person_id):
        await change(
            ctx,
            pair_id,
            lambda relationship, now: relationship.note_timezone(person.person_id, timezone),
            org_id=person.org_id,
        )


async def erase_person(ctx: SessionsContext, org_id: str, person_id: str) -> None:
    """The person is in no active relationship any more (a pair ends and its future sessions are
        cancelled, a circle carries on without them), and their private notes, feedback text, agenda
        words and our copy of their profile go (a tombstone stays), and their id becomes a pseudonym in
    every relationship they were in. Repeating it changes nothing."""
    await ctx.people.keep(Person.tombstone(org_id, person_id))
    await ctx.notes.erase_author(org_id, person_id)
    stand_in = pseudonym(org_id, person_id)

    def erase(relationship: Relationship, now: datetime) -> list[Emitted]:
        # The events name the person as they were (they are on their way); what stays, doesn't.
        return relationship.erase_person(person_id, now) + relationship.forget_person_id(person_id, stand_in)

    for pair_id in await ctx.queries.pairs_of_person(org_id, person_id):
        await change(ctx, pair_id, erase, org_id=org_id)


async def miss_session(ctx: SessionsContext, pair_id: str, session_id: str) -> int:
    """SessionMissed if the session was neither held, cancelled nor moved; the events emitted."""
    return await _count(
        ctx, pair_id, lambda relationship, now: relationship.miss_session(session_id, now, ctx.policy.grace)
    )


async def flag_overdue_action_item(ctx: SessionsContext, pair_id: str, item_id: str) -> int:
    return await _count(
        ctx, pair_id, lambda relationship, now: relationship.flag_overdue_action_item(item_id, now)
    )


async def reassess_health(ctx: SessionsContext, pair_id: str) -> int:
    """No change of its own: every change re-assesses health, which is what time may have moved."""
    return await _count(ctx, pair_id, lambda relationship, now: [])


async def _count(ctx: SessionsContext, pair_id: str, action: Action) -> int:
    saved = await change(ctx, pair_id, action)
    return len(saved.emitted) if saved else 0
