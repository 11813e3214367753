"""How each pair goes, as matching learns it from events: what the pair was matched on (its component
values, as the engine run that made it valued them), its agreed cadence, sessions held and
missed, goals achieved, stagnation episodes and how it ended. Each use case is one event's effect on the
pair's outcome record (domain/outcome_record.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from mentorship_schemas.events import Cadence
from servicekit.grouped import grouping

from matching.domain.candidate import ERASED
from matching.domain.mentor import mentor_key
from matching.domain.outcome_record import CADENCE_DAYS, Counted, OutcomeChange
from matching.domain.outcomes import PairEnding
from matching.domain.pair_components import pair_components
from matching.use_cases.context import Matching
from matching.use_cases.programs import find_program


async def _note(m: Matching, org_id: str, pair_id: str, change: OutcomeChange) -> None:
    if m.learning is not None:
        await m.learning.outcomes.note(org_id, pair_id, change)


async def component_values(
    m: Matching,
    org_id: str,
    pair_id: str,
    program_id: str,
    people: tuple[str, str],
    focus: str | None,
    at: datetime,
) -> dict[str, float] | None:
    """Each component's value for the pair (mentee, mentor): as the engine run that made the pair
    valued them, kept on the pair; for a pair no run valued (an admin's, a mentee's request), from
    both people's facts and embeddings now (None when either person or the program is gone)."""
    mentee_id, mentor_id = people
    seats = await m.reads.seats_of(org_id, mentee_id)
    found = [(s, p) for s in seats for p in (s.pair, s.last_pair) if p is not None and p.pair_id == pair_id]
    if found and found[0][1].components is not None:
        return dict(found[0][1].components)
    seat = found[0][0] if found else seats[0] if seats else None
    mentor = await m.mentors.get(mentor_key(org_id, mentor_id))
    program = await find_program(m, org_id, program_id)
    if seat is None or mentor is None or program is None:
        return None
    mentee = seat.match_profile_now(at)
    if focus:
        mentee = replace(mentee, skills_wanted=(focus,))
    goals = None
    if m.semantic is not None:
        goals = await m.semantic.profiles.of_people(org_id, [mentee_id, mentor_id])
    return pair_components(program.type, mentee, mentor.match_profile(at), goals)


async def write_start(
    m: Matching,
    org_id: str,
    pair_id: str,
    program_id: str,
    people: tuple[str, str],
    focus: str | None,
    at: datetime,
    valued: Mapping[str, float] | None = None,
) -> bool:
    """The pair's record gets its start: its program, when, and each component's value (`valued`: as
    the run that made the pair valued them, kept on its seat; else `component_values`). Returns
    whether it wrote: not over a record's start, and not for an erased person (erasure took what
    they were matched on).

    A pair's seat holds its start while the pair lasts, and nothing reads a record's start before
    weights are proposed: so it is written when the pair ends (its PairEnded brings it) or when a
    proposal asks (`complete_starts`), not when the pair is made. Written as each PairCreated was
    published, it cost matching's flood of registrations about a tenth of its CPU per record (in
    alternated floods with two replicas), for records that proposals completed from the seats all
    the same."""
    if m.learning is None:
        return False
    if ERASED in people or pair_id in await m.learning.outcomes.started(org_id, [pair_id]):
        return False
    if valued is not None:
        components: dict[str, float] | None = dict(valued)
    else:
        components = await component_values(m, org_id, pair_id, program_id, people, focus, at)
    fields = {"program_id": program_id, "started_at": at, "components": components}
    await _note(m, org_id, pair_id, OutcomeChange(participants=people, fields=fields))
    return True


# Pairs completed together by `complete_starts`: their reads and writes in groups of this many.
_COMPLETED_TOGETHER = 500


async def complete_starts(m: Matching, org_id: str, program_id: str) -> int:
    """The program's pairs whose record lacks its start get it from their seat (`write_start`): every
    pair that has not ended yet, at the first proposal after it was made. A pair no seat holds any
    more got it when it ended. Returns how many were completed."""
    if m.learning is None:
        return 0
    seats = await m.reads.seats_with_pairs_in(org_id, program_id)
    pairs = [
        (seat, pair)
        for seat in seats
        for pair in (seat.pair, seat.last_pair)
        if pair is not None and pair.program_id == program_id
    ]
    completed = 0
    # Idempotent upserts: their reads and writes go in groups, as a consumer batch's do.
    for first in range(0, len(pairs), _COMPLETED_TOGETHER):
        with grouping():
            written = await asyncio.gather(
                *(
                    write_start(
                        m,
                        org_id,
                        pair.pair_id,
                        program_id,
                        (seat.person_id, pair.mentor_id),
                        pair.focus,
                        pair.created_at,
                        pair.components,
                    )
                    for seat, pair in pairs[first : first + _COMPLETED_TOGETHER]
                )
            )
        completed += sum(written)
    return completed


async def pair_ended(
    m: Matching, org_id: str, pair_id: str, participants: tuple[str, ...], reason: str, ended_at: datetime
) -> None:
    fields = {"ending": PairEnding(reason), "ended_at": ended_at}
    await _note(m, org_id, pair_id, OutcomeChange(participants=participants, fields=fields))


async def cadence_agreed(
    m: Matching, org_id: str, pair_id: str, participants: tuple[str, ...], cadence: Cadence
) -> None:
    fields = {"cadence_days": CADENCE_DAYS[cadence]}
    await _note(m, org_id, pair_id, OutcomeChange(participants=participants, fields=fields))


async def counted(
    m: Matching, org_id: str, pair_id: str, participants: tuple[str, ...], fact: Counted, cause_id: str
) -> None:
    """A session held or missed, a goal achieved, a stagnation episode begun or closed."""
    await _note(m, org_id, pair_id, OutcomeChange(participants=participants, counted=(fact, cause_id)))


async def session_missed(
    m: Matching, org_id: str, pair_id: str, participants: tuple[str, ...], session_id: str, in_a_row: int
) -> None:
    change = OutcomeChange(
        participants=participants,
        counted=(Counted.SESSIONS_MISSED, session_id),
        highest={"max_missed_in_a_row": in_a_row},
    )
    await _note(m, org_id, pair_id, change)


async def forget_outcomes(m: Matching, org_id: str, person_id: str) -> None:
    """Erasure: the records of the person's pairs go (what they were matched on is about them)."""
    if m.learning is not None:
        await m.learning.outcomes.forget_person(org_id, person_id)
