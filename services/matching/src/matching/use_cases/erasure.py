"""A person exercised the right to be forgotten: matching forgets them and keeps only that their
pairs and circles existed, without who or why."""

from __future__ import annotations

from matching.use_cases import pool
from matching.use_cases.context import Matching
from matching.use_cases.continuous import match_continuously


async def forget_person(m: Matching, org_id: str, person_id: str) -> None:
    """Idempotent: a redelivery finds nothing left to forget (the person's seats now say `erased`)."""
    now = m.now()
    # Their own seats: an open request or proposal is withdrawn; a seat with no pair or circle
    # goes, unless it still carries that withdrawal to publish.
    for seat in await m.reads.seats_of(org_id, person_id):
        saved = await m.seats.change(seat.id, lambda s: s.erase(now))
        if saved is None:
            continue
        if saved.result is not None:
            await pool.give_back_place(m, org_id, saved.result)
        if not saved.emitted and not saved.aggregate.keeps_history:
            await m.forgetting.delete_seat(seat.id)
    # Other people's seats that name them: requests to them end, pairs and circles keep no name.
    for seat in await m.reads.seats_naming(org_id, person_id):
        await m.seats.change(seat.id, lambda s: s.forget_person(person_id, now))
    for circle in await m.reads.circles(org_id, member_id=person_id):
        await m.circles.change(circle.id, lambda c: c.forget_person(person_id))
    await m.forgetting.delete_mentor(org_id, person_id)
    await m.forgetting.delete_inclusion(org_id, person_id)
    # Mentees who waited on them wait again, and the places they held are free.
    await match_continuously(m, org_id)
