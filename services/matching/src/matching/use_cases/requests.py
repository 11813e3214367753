"""The mentee-initiated flow and approvals: join a program, ranked suggestions, a request to a
mentor (accepted, declined, withdrawn, or expired to the next best mentor), admins' proposals
(approved or rejected), and a mentor's open ones declined when they become unavailable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mentorship_schemas.events import PersonRole

from matching.domain.compatibility import Explanation
from matching.domain.match_run import as_match
from matching.domain.mentor import MentorCandidate
from matching.domain.org_view import OrgView
from matching.domain.program import Approval, Program
from matching.domain.seat import DeclineReason, MenteeSeat, SeatStatus, seat_key
from matching.domain.seat_parts import AuditEntry, HoldKind
from matching.use_cases import pool
from matching.use_cases.context import Caller, Conflict, Matching, NotAllowed, NotFound, Refused
from matching.use_cases.continuous import ask_next_suggestion, match_continuously, match_where_places_freed
from matching.use_cases.programs import require_program
from matching.use_cases.rematch import Cause, Rematch, rematch_now


def _registered(seat: MenteeSeat | None, person_id: str) -> MenteeSeat:
    if seat is None or seat.status is SeatStatus.ERASED:
        raise NotFound(f"{person_id} is not registered as a mentee.")
    return seat


def _seat(view: OrgView, person_id: str, focus: str | None) -> MenteeSeat:
    """The person's seat: their own, or the one for `focus` (a program that gives one mentor per
    focus area)."""
    own = _registered(view.seat(person_id), person_id)
    if focus is None:
        return own
    for seat in view.seats_of(person_id):
        if seat.focus == focus:
            return seat
    raise Refused(f"You have no focus area {focus!r} in this program.", field="focus")


async def join(m: Matching, org_id: str, person_id: str, program_id: str) -> MenteeSeat:
    """Wait for a mentor in this program (a mentee not paired or asking one now)."""
    program = await require_program(m, org_id, program_id)
    if not program.is_open:
        raise Conflict(f"Program {program_id!r} is closed.")
    if not program.admits(person_id, PersonRole.MENTEE):
        raise NotAllowed(f"Program {program_id!r} is by invitation and {person_id} is not enrolled.")
    mentee = _registered(await m.seats.get(seat_key(org_id, person_id)), person_id)
    if mentee.status not in (SeatStatus.WAITING, SeatStatus.ENDED):
        raise Conflict(f"{person_id} has a mentor or an open request or proposal now.")
    if not await pool.rejoin(m, mentee, program_id):
        raise Conflict("The mentee changed meanwhile; retry.")
    view = await m.reads.org(org_id)
    if (joined := view.seat(person_id)) is not None:
        await pool.seat_mentee(m, view, program, joined)
    if program.continuous:
        await match_continuously(m, org_id)
    return _registered(await m.seats.get(seat_key(org_id, person_id)), person_id)


def _no_circles(program: Program) -> None:
    if program.forms_circles:
        raise Conflict(
            f"Program {program.program_id!r} is a circles program: its members meet in circles, which a "
            "program admin forms, not with one mentor."
        )


async def suggestions(m: Matching, caller: Caller, focus: str | None, limit: int) -> list[Explanation]:
    """The caller's best mentors in their program, with why."""
    return [card.explanation for card in await suggestion_cards(m, caller, focus, limit)]


@dataclass(frozen=True)
class Suggestion:
    """A suggested mentor with what a mentee needs to choose (their candidate record's public facts)."""

    explanation: Explanation
    mentor: MentorCandidate


async def suggestion_cards(m: Matching, caller: Caller, focus: str | None, limit: int) -> list[Suggestion]:
    """The caller's best mentors in their program, each with the mentor's record and why they fit."""
    view = await m.reads.org(caller.org_id)
    seat = _seat(view, caller.person_id, focus)
    program = await require_program(m, caller.org_id, seat.program_id)
    _no_circles(program)
    return [Suggestion(e, view.mentors[e.mentor_id]) for e in view.suggestions(program, seat, m.now(), limit)]


async def ask_mentor(
    m: Matching, caller: Caller, mentor_id: str, message: str | None, focus: str | None
) -> MenteeSeat:
    """The caller asks a mentor (MentorshipRequested); returns the seat the request holds."""
    view = await m.reads.org(caller.org_id)
    seat = _seat(view, caller.person_id, focus)
    if seat.status is SeatStatus.ENDED:
        raise Conflict("Your last pair has ended: join a program (POST /programs/{id}/join) first.")
    if not seat.waiting:
        raise Conflict("You have a mentor or an open request or proposal already.")
    program = await require_program(m, caller.org_id, seat.program_id)
    if not program.is_open:
        raise Conflict(f"Program {program.program_id!r} is closed.")
    _no_circles(program)
    if mentor_id not in view.mentors or not program.admits(mentor_id, PersonRole.MENTOR):
        raise Refused(f"{mentor_id} is not a mentor in this program.", field="mentor_id")
    now = m.now()
    if (reason := view.why_not(program, seat, mentor_id, now)) is not None:
        raise Refused(f"You cannot ask {mentor_id}. {reason}", field="mentor_id")
    ranked = view.suggestions(program, seat, now, limit=len(view.mentors))
    chosen = next(s for s in ranked if s.mentor_id == mentor_id)
    match = as_match(chosen.mentor_id, chosen.score, chosen.reasons, chosen.breakdown)
    if await pool.offer(m, program, seat, match, approval=Approval.MENTOR, message=message) is None:
        raise Conflict(f"{mentor_id} has no free place now, or your status changed.")
    held = await m.seats.get(seat.id)
    assert held is not None
    return held


async def requests_of(m: Matching, caller: Caller) -> list[MenteeSeat]:
    """Open requests: the caller's own and those to them."""
    return await m.reads.requests_of(caller.org_id, caller.person_id, limit=200)


async def proposals(m: Matching, org_id: str, program_id: str | None) -> list[MenteeSeat]:
    return await m.reads.proposals(org_id, program_id, limit=1000)


async def _open_hold(
    m: Matching, caller: Caller, hold_id: str, kind: HoldKind, answered_by: PersonRole | None
) -> MenteeSeat:
    """The open request or proposal; not found unless `answered_by` names the caller's side of it
    (None: an admin's, checked by the caller)."""
    seat = await m.reads.held_seat(caller.org_id, hold_id, kind)
    if seat is None or seat.hold is None:
        raise NotFound(f"There is no open {kind.value} {hold_id}.")
    side = {PersonRole.MENTOR: seat.hold.mentor_id, PersonRole.MENTEE: seat.person_id}
    if answered_by is not None and side[answered_by] != caller.person_id:
        raise NotFound(f"There is no open {kind.value} {hold_id}.")
    return seat


def _changed(kind: HoldKind) -> Conflict:
    return Conflict(f"The {kind.value} changed meanwhile (withdrawn, expired or answered).")


async def accept(
    m: Matching, caller: Caller, hold_id: str, kind: HoldKind, answered_by: PersonRole | None
) -> str:
    """The mentor accepts a request, or an admin approves a proposal: it becomes a pair."""
    seat = await _open_hold(m, caller, hold_id, kind, answered_by)
    assert seat.hold is not None
    program = await require_program(m, caller.org_id, seat.hold.program_id)
    pair_id = await pool.accept_hold(m, program, seat)
    if pair_id is None:
        raise _changed(kind)
    return pair_id


async def refuse(
    m: Matching,
    caller: Caller,
    hold_id: str,
    kind: HoldKind,
    answered_by: PersonRole | None,
    reason: DeclineReason,
    note: str | None = None,
) -> Rematch | None:
    """Declined by the mentor, withdrawn by the mentee, or rejected by an admin: the seat waits
    again, and the mentor's freed place goes to whoever waits. An admin's rejection keeps the
    admin's `note` in the seat's audit (never in the event, never shown to the mentee), and the
    mentee gets the next possible mentor at once (or is told why there is none)."""
    seat = await _open_hold(m, caller, hold_id, kind, answered_by)
    assert seat.hold is not None
    rejected = reason is DeclineReason.REJECTED
    audit = (
        AuditEntry(
            at=m.now(),
            by=caller.person_id,
            action="proposal_rejected",
            mentor_id=seat.hold.mentor_id,
            note=note,
        )
        if rejected
        else None
    )
    if not await pool.drop_hold(m, seat, reason, audit=audit):
        raise _changed(kind)
    if rejected:
        return await rematch_now(m, caller.org_id, seat.id, Cause.PROPOSAL_REJECTED)
    await match_continuously(m, caller.org_id)
    return None


async def expire_requests(m: Matching, now: datetime, limit: int = 500) -> int:
    """Requests unanswered by their deadline: PairDeclined (expired), then the next suggestion;
    the places given back then go to whoever waits in a continuous program."""
    changed_orgs: set[str] = set()
    expired = 0
    for seat in await m.reads.due_requests(now, limit):
        assert seat.hold is not None
        if await pool.drop_hold(m, seat, DeclineReason.EXPIRED):
            expired += 1
            changed_orgs.add(seat.org_id)
            await ask_next_suggestion(m, seat.org_id, seat.id, seat.hold.message)
    await match_where_places_freed(m, changed_orgs)
    return expired


async def decline_open_holds_of(m: Matching, org_id: str, mentor_id: str) -> int:
    """A mentor became unavailable: every open request and proposal to them is declined at once."""
    declined = 0
    for seat in await m.reads.seats_held_for(org_id, mentor_id):
        if await pool.drop_hold(m, seat, DeclineReason.MENTOR_UNAVAILABLE):
            declined += 1
    # Those mentees wait again: in a continuous program, another mentor now. (Also when nothing
    # was declined this time: a redelivery after a crash must not leave them waiting.)
    await match_continuously(m, org_id)
    return declined
