"""The candidate read model, fed by profiles' events: facts for each role, mentors' availability,
consented inclusion attributes, and the stagnation signals sessions sends about pairs. Each
change is versioned, so a stale or repeated event changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from mentorship_schemas.events import PersonRole
from servicekit.aggregates import AggregateRoot, Aggregates, Emitted

from matching.domain.candidate import FIRST_PROFILE_VERSION, ProfileFacts
from matching.domain.inclusion import InclusionRecord, inclusion_key
from matching.domain.mentor import LEFT, MentorCandidate, mentor_key
from matching.domain.seat import MenteeSeat
from matching.domain.seat_parts import Stagnation
from matching.use_cases import pool
from matching.use_cases.context import Matching
from matching.use_cases.continuous import match_continuously
from matching.use_cases.pairs import end_pairs_of_mentor
from matching.use_cases.requests import decline_open_holds_of

A = TypeVar("A", bound=AggregateRoot)
log = logging.getLogger(__name__)


async def change_or_create(
    store: Aggregates[A], key: str, new: Callable[[], A], change: Callable[[A], list[Emitted]]
) -> None:
    """Apply `change` to the stored aggregate, or to a new one when there is none yet."""
    for _ in range(3):
        if await store.change(key, change) is not None:
            return
        fresh = new()
        emitted = change(fresh)
        if await store.create(fresh, emitted):
            return
        # Created by someone else meanwhile: change that one.
    raise RuntimeError(f"{key} neither changes nor creates")


async def create_or_change(
    store: Aggregates[A], key: str, new: Callable[[], A], change: Callable[[A], list[Emitted]]
) -> None:
    """`change_or_create` for an aggregate that most likely does not exist yet: created without a
    read that would find nothing, and changed only when it exists after all."""
    fresh = new()
    if not await store.create(fresh, change(fresh)):
        await change_or_create(store, key, new, change)


async def keep_facts(
    m: Matching,
    org_id: str,
    person_id: str,
    roles: list[PersonRole],
    facts: ProfileFacts,
    profile_version: int,
    at: datetime,
) -> None:
    """Newer facts replace older ones on each role's record; a new role gets its record (a new
    mentee waits in the built-in program). Then anyone may be matched.

    A registration (the first profile) creates the records without reading first: they exist
    only if this registration was handled already, and then the write fails and they are read.
    In matching's benchmark each of 15,000 registrations read its records only to find none."""
    first = profile_version <= FIRST_PROFILE_VERSION
    if PersonRole.MENTEE in roles:

        def new_seat() -> MenteeSeat:
            return MenteeSeat.register(org_id, person_id, facts, profile_version, at)

        if not (first and await m.seats.create(new_seat())):
            seats = await m.reads.seats_of(org_id, person_id)
            for seat in seats:  # a mentee with several focus seats has one per seat
                await m.seats.change(seat.id, lambda s: s.update_facts(facts, profile_version))
            if not seats:  # False: it exists already, and this event is stale
                await m.seats.create(new_seat())
    if PersonRole.MENTOR in roles:
        await (create_or_change if first else change_or_create)(
            m.mentors,
            mentor_key(org_id, person_id),
            lambda: MentorCandidate.new(org_id, person_id),
            lambda mentor: mentor.update_facts(facts, profile_version),
        )
    await match_continuously(m, org_id)


async def mentor_available(
    m: Matching, org_id: str, person_id: str, version: int, capacity: int, active_mentees: int
) -> None:
    """The mentor takes mentees up to `capacity`. The places taken are matching's own (its pairs,
    proposals and requests), never profiles' `active_mentees`: that count is from when profiles
    handled an earlier PairCreated or PairEnded, and matching may have ended or made pairs since
    (issue 11, defect 3). The places are checked against the seats that hold this mentor, too."""
    paired, held_by = await pool.seats_holding(m, org_id, person_id)
    now = m.now()
    key = mentor_key(org_id, person_id)
    added: list[str] = []

    def available(mentor: MentorCandidate) -> list[Emitted]:
        added[:] = mentor.reconcile_places(held_by, now)[0]
        return mentor.announce_available(version, capacity)

    await change_or_create(m.mentors, key, lambda: MentorCandidate.new(org_id, person_id), available)
    await pool.check_places_given(m, org_id, person_id, added)
    if active_mentees != len(paired):
        log.info(
            "mentor %s: profiles counted %d mentees, matching has %d", person_id, active_mentees, len(paired)
        )
    await match_continuously(m, org_id)


async def mentor_unavailable(m: Matching, org_id: str, person_id: str, version: int, reason: str) -> None:
    """Their open requests and proposals are declined; a mentor who left has their pairs ended."""
    # No record: nothing to withdraw (and an erased mentor, forgotten just before, stays forgotten).
    saved = await m.mentors.change(
        mentor_key(org_id, person_id), lambda mentor: mentor.announce_unavailable(version, reason)
    )
    if saved is None:
        return
    # Act only while this event is the mentor's current availability: a stale one (an older
    # version arriving late) changes nothing, and a redelivery after a crash finishes the job.
    mentor = await m.mentors.get(mentor_key(org_id, person_id))
    if mentor is None or mentor.availability_version != version:
        return
    await decline_open_holds_of(m, org_id, person_id)
    if reason == LEFT:
        await end_pairs_of_mentor(m, org_id, person_id)


async def inclusion_changed(
    m: Matching, org_id: str, person_id: str, version: int, consented: bool, attributes: dict[str, str]
) -> None:
    """Consented attributes, kept only for fairness floors; withdrawn consent forgets them."""
    await change_or_create(
        m.inclusion,
        inclusion_key(org_id, person_id),
        lambda: InclusionRecord.new(org_id, person_id),
        lambda record: record.record(version, consented, attributes),
    )


async def pair_stagnant(m: Matching, org_id: str, pair_id: str, stagnation: Stagnation) -> None:
    """Remember the signal on the pair, so the pair or an admin can escalate it to a rematch."""
    seat = await m.reads.paired_seat(org_id, pair_id)
    if seat is not None:
        await m.seats.change(seat.id, lambda s: s.note_stagnation(pair_id, stagnation))


async def pair_recovered(m: Matching, org_id: str, pair_id: str, episode_id: str) -> None:
    seat = await m.reads.paired_seat(org_id, pair_id)
    if seat is not None:
        await m.seats.change(seat.id, lambda s: s.note_recovery(pair_id, episode_id))
