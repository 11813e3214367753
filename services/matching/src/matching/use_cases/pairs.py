"""Pairs: a person's current pairs, one pair for those in it, ending one (by its people, an admin,
its program's end date or its mentor leaving) and escalating a stagnant one to a rematch."""

from __future__ import annotations

from datetime import datetime

from mentorship_schemas.events import PairEndReason

from matching.domain.seat import REMATCH_REASONS, MenteeSeat
from matching.use_cases import pool
from matching.use_cases.context import Caller, Conflict, Matching, NotFound
from matching.use_cases.continuous import match_continuously, match_where_places_freed
from matching.use_cases.rematch import Cause, Rematch, rematch_now


async def pairs_of(m: Matching, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
    return await m.reads.pairs_of(org_id, person_id, limit)


async def pair_for(m: Matching, caller: Caller, pair_id: str) -> MenteeSeat:
    """The seat of a current pair the caller is in (or any, for admins); not found otherwise, so
    people outside the pair cannot learn that it exists."""
    seat = await m.reads.paired_seat(caller.org_id, pair_id)
    if seat is None or seat.pair is None:
        raise NotFound("There is no such current pair.")
    if caller.person_id not in (seat.person_id, seat.pair.mentor_id) and not caller.is_admin:
        raise NotFound("There is no such current pair.")
    return seat


async def end(m: Matching, caller: Caller, pair_id: str, reason: PairEndReason) -> bool:
    """PairEnded; returns whether the mentee is matched again (without this mentor)."""
    seat = await pair_for(m, caller, pair_id)
    if not await pool.end_pair(m, seat, reason):
        raise Conflict("The pair changed meanwhile; read it and retry.")
    # Rematch the mentee, and offer the mentor's freed place to whoever waits (profiles announces
    # the mentor only if they were full).
    await match_continuously(m, caller.org_id)
    return reason in REMATCH_REASONS


async def escalate(m: Matching, caller: Caller, pair_id: str) -> Rematch:
    """A stagnant pair, escalated by one of its people or an admin, ends, and the mentee gets a
    new match now (a pair, a proposal or a request, as the program's approval says), whether or
    not the program matches continuously; when no mentor is possible, the mentee and the program's
    admins are told why (MenteeUnmatched)."""
    seat = await pair_for(m, caller, pair_id)
    assert seat.pair is not None
    if seat.pair.stagnation is None:
        raise Conflict("This pair has no open stagnation signal to escalate.")
    await end(m, caller, pair_id, PairEndReason.STAGNANT)
    return await rematch_now(m, caller.org_id, seat.id, Cause.ESCALATED, ended_pair_id=pair_id)


async def end_pairs_at_end_date(m: Matching, now: datetime, limit: int = 500) -> int:
    """Pairs whose program end date or duration has come: PairEnded (completed)."""
    changed_orgs: set[str] = set()
    ended = 0
    for seat in await m.reads.due_pair_ends(now, limit):
        if await pool.end_pair(m, seat, PairEndReason.COMPLETED):
            ended += 1
            changed_orgs.add(seat.org_id)
    await match_where_places_freed(m, changed_orgs)
    return ended


async def end_pairs_of_mentor(m: Matching, org_id: str, mentor_id: str) -> int:
    """The mentor left: their pairs end (mentor_left) and each mentee is matched again."""
    ended = 0
    for seat in await m.reads.seats_paired_with(org_id, mentor_id):
        if await pool.end_pair(m, seat, PairEndReason.MENTOR_LEFT):
            ended += 1
    await match_continuously(m, org_id)
    return ended
