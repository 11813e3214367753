"""A seat's transitions together with its mentor's place: a place is reserved before an offer
(pair, proposal or request) and given back when the offer loses a race, or when a hold is
dropped or a pair ends.

Each seat transition applies only to the seat as the caller saw it (same version): a seat that
changed meanwhile (answered, withdrawn, expired, paired elsewhere) is left alone and the caller
told so, as the ids of what it causes derive from that version."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from mentorship_schemas.events import PairEndReason
from servicekit.aggregates import Change, Emitted, Saved

from matching.domain.mentor import MentorCandidate, mentor_key
from matching.domain.org_view import OrgView
from matching.domain.program import Approval, Program
from matching.domain.seat import DeclineReason, MenteeSeat, SeatChanged, SeatStatus
from matching.domain.seat_parts import AuditEntry, Match
from matching.use_cases.context import Matching

log = logging.getLogger(__name__)
R = TypeVar("R")


async def change_seen(
    m: Matching, seat: MenteeSeat, transition: Change[MenteeSeat, R]
) -> Saved[MenteeSeat, R | None] | None:
    """Apply `transition` to the seat if it is still at the version `seat` was read: what was
    saved, or None when the seat changed meanwhile (or is gone)."""

    def as_seen(current: MenteeSeat) -> tuple[R, list[Emitted]] | list[Emitted]:
        if current.version != seat.version:
            raise SeatChanged(f"seat {seat.id} changed since version {seat.version}")
        return transition(current)

    try:
        return await m.seats.change(seat.id, as_seen)
    except SeatChanged:
        return None


async def _made(
    m: Matching, seat: MenteeSeat, transition: Callable[[MenteeSeat], tuple[str, list[Emitted]]]
) -> str | None:
    """The id a seen transition made (a pair, proposal or request), or None."""
    saved = await change_seen(m, seat, transition)
    return None if saved is None else saved.result


async def reserve_place(m: Matching, org_id: str, mentor_id: str, seat_id: str) -> bool:
    """Take one of the mentor's places for this seat; the taker alone gives it back if its offer
    fails (a second offer of the same seat to the same mentor finds the place taken)."""
    return bool(await reserve_places(m, org_id, mentor_id, [seat_id]))


async def reserve_places(m: Matching, org_id: str, mentor_id: str, seat_ids: list[str]) -> list[str]:
    """`reserve_place` for several seats in one change of the mentor: the seats that got one."""
    now = m.now()
    saved = await m.mentors.change(
        mentor_key(org_id, mentor_id), lambda mentor: mentor.reserve_places(seat_ids, now)
    )
    return [] if saved is None or saved.result is None else saved.result


async def give_back_place(m: Matching, org_id: str, mentor_id: str, seat_id: str) -> None:
    await give_back_places(m, org_id, mentor_id, [seat_id])


async def give_back_places(m: Matching, org_id: str, mentor_id: str, seat_ids: list[str]) -> None:
    await m.mentors.change(mentor_key(org_id, mentor_id), lambda mentor: mentor.give_back_places(seat_ids))


async def seats_holding(m: Matching, org_id: str, mentor_id: str) -> tuple[set[str], set[str]]:
    """The seats paired with the mentor, and those paired with or held for them (from the store)."""
    paired_with, held_for = await asyncio.gather(
        m.reads.seats_paired_with(org_id, mentor_id), m.reads.seats_held_for(org_id, mentor_id)
    )
    paired = {seat.id for seat in paired_with}
    return paired, paired | {seat.id for seat in held_for}


async def check_places_given(m: Matching, org_id: str, mentor_id: str, seat_ids: list[str]) -> None:
    """Places `reconcile_places` gave to seats read just before: a pair that ended since then gave
    its place back already, so a seat that no longer holds the mentor gives it back again."""
    for seat_id in seat_ids:
        seat = await m.seats.get(seat_id)
        if seat is None or seat.current_mentor() != mentor_id:
            await give_back_place(m, org_id, mentor_id, seat_id)


async def give_back_unbacked_places(m: Matching, org_id: str) -> None:
    """Places that no seat holds, past the grace period (a crash between reserving a mentor's place
    and writing the seat's offer), go back, as a MentorAvailable would do for its mentor; the
    view finds the mentors, the store decides."""
    view = await m.reads.org(org_id)
    for mentor_id in view.mentors_with_unbacked_places(m.now()):
        await _reconcile_places(m, org_id, mentor_id)


async def _reconcile_places(m: Matching, org_id: str, mentor_id: str) -> None:
    _, held_by = await seats_holding(m, org_id, mentor_id)
    now = m.now()
    given: list[str] = []

    def reconciled(mentor: MentorCandidate) -> list[Emitted]:
        given[:] = mentor.reconcile_places(held_by, now)[0]
        return []

    if await m.mentors.change(mentor_key(org_id, mentor_id), reconciled) is not None:
        await check_places_given(m, org_id, mentor_id, given)


async def offer(
    m: Matching,
    program: Program,
    seat: MenteeSeat,
    match: Match,
    *,
    approval: Approval | None = None,
    run_id: str | None = None,
    message: str | None = None,
    automatic: bool = False,
    audit: AuditEntry | None = None,
) -> str | None:
    """Pair, propose or request, as the program's approval (or `approval`) says. Returns the pair,
    proposal or request id, or None when the mentor's place or the seat was taken meanwhile
    (and always in a circles program, whose members only ever meet in circles)."""
    if _forms_circles(program, [seat]):
        return None
    if not await reserve_place(m, seat.org_id, match.mentor_id, seat.id):
        return None
    now = m.now()
    made = await _offer_placed(
        m,
        program,
        seat,
        match,
        approval,
        lambda s: s.offer(
            program,
            match,
            now,
            approval=approval,
            run_id=run_id,
            message=message,
            automatic=automatic,
            audit=audit,
        ),
    )
    if made is None:
        await give_back_place(m, seat.org_id, match.mentor_id, seat.id)
    return made


async def offer_to_mentor(
    m: Matching, program: Program, mentor_id: str, offers: list[tuple[MenteeSeat, Match]], *, automatic: bool
) -> int:
    """Offer several seats one mentor, as `offer` would one after another, in fewer writes: their
    places taken in one change of the mentor, the seats' offers written side by side, the places
    of those that lost a race given back in one change. How many offers were made."""
    placed = await place_offers(m, program, mentor_id, offers)
    return await write_offers(m, program, mentor_id, placed, automatic=automatic)


async def place_offers(
    m: Matching, program: Program, mentor_id: str, offers: list[tuple[MenteeSeat, Match]]
) -> list[tuple[MenteeSeat, Match]]:
    """`offer_to_mentor`'s first half: the mentor's places taken for the seats, in one change; the
    offers that got one. Each must then be written (`write_offers`) or its place given back."""
    if not offers or _forms_circles(program, [seat for seat, _ in offers]):
        return []
    org_id = offers[0][0].org_id
    placed = set(await reserve_places(m, org_id, mentor_id, [seat.id for seat, _ in offers]))
    return [(seat, match) for seat, match in offers if seat.id in placed]


async def write_offers(
    m: Matching, program: Program, mentor_id: str, placed: list[tuple[MenteeSeat, Match]], *, automatic: bool
) -> int:
    """`offer_to_mentor`'s second half: the seats' offers, side by side, for the places
    `place_offers` took; the places of those that lost a race go back in one change. How many
    offers were made."""
    if not placed:
        return 0
    now = m.now()
    made = await asyncio.gather(
        *(
            _offer_placed(m, program, seat, match, None, _offering(program, match, now, automatic))
            for seat, match in placed
        )
    )
    lost = [seat.id for (seat, _), made_id in zip(placed, made, strict=True) if made_id is None]
    if lost:
        await give_back_places(m, placed[0][0].org_id, mentor_id, lost)
    return len(placed) - len(lost)


def _forms_circles(program: Program, seats: list[MenteeSeat]) -> bool:
    if program.forms_circles:
        log.warning(
            "no one-to-one offer in circles program %s (mentees %s)",
            program.program_id,
            ", ".join(seat.person_id for seat in seats),
        )
    return program.forms_circles


def _offering(
    program: Program, match: Match, now: datetime, automatic: bool
) -> Callable[[MenteeSeat], tuple[str, list[Emitted]]]:
    return lambda seat: seat.offer(program, match, now, automatic=automatic)


async def _offer_placed(
    m: Matching,
    program: Program,
    seat: MenteeSeat,
    match: Match,
    approval: Approval | None,
    transition: Callable[[MenteeSeat], tuple[str, list[Emitted]]],
) -> str | None:
    """The seat's offer once its mentor's place is taken for it (None: the seat changed)."""
    made = await _made(m, seat, transition)
    if made is not None:
        log.info(
            "%s: mentee %s, mentor %s (%s)",
            approval or program.approval,
            seat.person_id,
            match.mentor_id,
            made,
        )
    return made


async def accept_hold(m: Matching, program: Program, seat: MenteeSeat) -> str | None:
    """The held proposal or request becomes a pair (its mentor's place is already reserved)."""
    now = m.now()
    return await _made(m, seat, lambda s: s.accept_hold(program, now))


async def drop_hold(
    m: Matching, seat: MenteeSeat, reason: DeclineReason, *, audit: AuditEntry | None = None
) -> bool:
    """The held proposal or request ends without a pair (PairDeclined); the place is freed."""
    assert seat.hold is not None
    now = m.now()
    if await change_seen(m, seat, lambda s: s.drop_hold(reason, now, audit=audit)) is None:
        return False
    await give_back_place(m, seat.org_id, seat.hold.mentor_id, seat.id)
    return True


async def end_pair(
    m: Matching, seat: MenteeSeat, reason: PairEndReason, *, rematch: bool | None = None
) -> bool:
    """PairEnded; the mentee waits again (a rematch reason, or `rematch`) or has ended; the place
    is freed."""
    assert seat.pair is not None
    now = m.now()
    if await change_seen(m, seat, lambda s: s.end_pair(reason, now, rematch=rematch)) is None:
        return False
    await give_back_place(m, seat.org_id, seat.pair.mentor_id, seat.id)
    return True


async def move_pair(
    m: Matching, program: Program, seat: MenteeSeat, match: Match, *, run_id: str
) -> str | None:
    """Another mentor for a paired seat (PairEnded + PairCreated in one write): the new mentor's
    place is reserved first, the old one freed after. None if either side changed."""
    assert seat.pair is not None
    if not await reserve_place(m, seat.org_id, match.mentor_id, seat.id):
        return None
    now = m.now()
    pair_id = await _made(m, seat, lambda s: s.move_pair(program, match, run_id, now))
    await give_back_place(m, seat.org_id, seat.pair.mentor_id if pair_id else match.mentor_id, seat.id)
    return pair_id


async def rejoin(m: Matching, seat: MenteeSeat, program_id: str) -> bool:
    now = m.now()
    return await change_seen(m, seat, lambda s: s.rejoin(program_id, now)) is not None


async def seat_mentee(m: Matching, view: OrgView, program: Program, primary: MenteeSeat) -> bool:
    """Seats for a mentee waiting in `program`: with several mentors per mentee, seat n wants the
    n-th skill the person wants (their own seat is seat 1); otherwise only seat 1 waits. Seats
    paired or held stay as they are. Returns whether anything changed."""
    now = m.now()
    wanted = list(dict.fromkeys(primary.skills_wanted))
    seats = min(program.mentors_per_mentee, len(wanted)) if program.mentors_per_mentee > 1 else 1
    changed = False
    for extra in view.seats_of(primary.person_id):
        # Waiting seats the program does not want (fewer focus areas now, or another program).
        if extra.seat > seats and extra.status is SeatStatus.WAITING:
            changed |= await change_seen(m, extra, lambda s: s.retire()) is not None
    if seats <= 1 or primary.seated_for == program.program_id:
        return changed
    if await change_seen(m, primary, lambda s: s.seat_for(program.program_id, wanted[0])) is None:
        return changed
    for number in range(2, seats + 1):
        focus = wanted[number - 1]
        existing = view.seat(primary.person_id, number)
        if existing is None:
            await m.seats.create(primary.new_focus_seat(program.program_id, number, focus, now))
        elif existing.status in (SeatStatus.WAITING, SeatStatus.ENDED):
            await _refocus(m, existing, program.program_id, number, focus)
    return True


async def _refocus(m: Matching, seat: MenteeSeat, program_id: str, number: int, focus: str) -> None:
    now = m.now()
    await change_seen(m, seat, lambda s: s.focus_seat(program_id, number, focus, now))


async def seat_waiting_mentees(m: Matching, view: OrgView, program: Program) -> bool:
    """`seat_mentee` for every person whose own seat waits in the program."""
    if program.mentors_per_mentee == 1 and not view.has_focus_seats():
        return False  # one seat each, and no focus seat anyone would have to give up
    changed = False
    for seat in view.waiting_in(program, seat=1):
        changed |= await seat_mentee(m, view, program, seat)
    return changed
