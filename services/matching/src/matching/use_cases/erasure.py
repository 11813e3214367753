"""A person exercised the right to be forgotten: their pairs end, their open requests and
proposals are withdrawn or declined, and matching forgets them, keeping only that their pairs
and circles existed, without who or why."""

from __future__ import annotations

from mentorship_schemas.events import PairEndReason
from servicekit.erasure import pseudonym

from matching.domain.seat import SeatStatus
from matching.use_cases import pool
from matching.use_cases.context import Matching
from matching.use_cases.continuous import match_continuously


async def forget_person(m: Matching, org_id: str, person_id: str) -> None:
    """Idempotent: a redelivery finds nothing left to forget (the person's seats now say `erased`)."""
    await end_pairs_of_erased(m, org_id, person_id)
    now = m.now()
    # Their own seats: an open request or proposal is withdrawn; a seat with no pair or circle
    # goes, unless it still carries that withdrawal to publish.
    for seat in await m.reads.seats_of(org_id, person_id):
        saved = await m.seats.change(seat.id, lambda s: s.erase(now))
        if saved is None:
            continue
        if saved.result is not None:
            await pool.give_back_place(m, org_id, saved.result, seat.id)
        if not saved.emitted and not saved.aggregate.keeps_history:
            await m.forgetting.delete_seat(seat.id)
    # Other people's seats that name them: requests to them end, pairs and circles keep no name.
    for seat in await m.reads.seats_naming(org_id, person_id):
        await m.seats.change(seat.id, lambda s: s.forget_person(person_id, now))
    for circle in await m.reads.circles(org_id, member_id=person_id):
        await m.circles.change(circle.id, lambda c: c.forget_person(person_id))
    await m.forgetting.delete_mentor(org_id, person_id)
    await m.forgetting.delete_inclusion(org_id, person_id)
    await m.run_items.forget_person(org_id, person_id)
    for program in await m.reads.programs_of(org_id):
        if program.stored and program.lists(person_id):
            await m.programs.change(program.id, lambda p: p.forget_enrolled(person_id))
    # The audited runs keep whom they skipped, under a pseudonym for the person.
    stand_in = pseudonym(org_id, person_id)
    for run_id in await m.reads.runs_naming(org_id, person_id):
        await m.runs.change(run_id, lambda run: run.forget_person_id(person_id, stand_in))
    # Mentees who waited on them wait again, and the places they held are free.
    await match_continuously(m, org_id)


async def end_pairs_of_erased(m: Matching, org_id: str, person_id: str) -> int:
    """Every current pair of the person ends with PairEnded (erased), while the event can still
    name both people: sessions closes the relationship and cancels what is planned, profiles frees
    the mentor's place, notifications tells the other person. A mentee whose mentor was erased
    waits for another one; the erased mentee's own seat has ended."""
    ended = 0
    for seat in await m.reads.seats_of(org_id, person_id):
        if seat.status is SeatStatus.PAIRED and await pool.end_pair(m, seat, PairEndReason.ERASED):
            ended += 1
    for seat in await m.reads.seats_paired_with(org_id, person_id):
        if await pool.end_pair(m, seat, PairEndReason.ERASED, rematch=True):
            ended += 1
    return ended
