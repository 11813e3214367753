"""A new match for one mentee now, whatever the program's matching mode (issue 11, defect 5): after
their stagnant pair was escalated and ended, or an admin rejected a proposal for them. The mentee
gets the best possible mentor as the program's approval says (a pair, a proposal for an admin, or a
request to the mentor); when no mentor is possible, MenteeUnmatched tells the mentee and the
program's admins which rule kept every mentor away."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from matching.domain.match_run import as_match
from matching.domain.program import Approval
from matching.domain.seat import MenteeSeat, SeatStatus
from matching.domain.seat_parts import HoldKind
from matching.use_cases import pool
from matching.use_cases.context import Matching
from matching.use_cases.continuous import match_continuously
from matching.use_cases.programs import find_program


class Cause(StrEnum):
    ESCALATED = "escalated"
    PROPOSAL_REJECTED = "proposal_rejected"


class Outcome(StrEnum):
    PAIRED = "paired"
    PROPOSED = "proposed"  # awaits a program admin's approval
    REQUESTED = "requested"  # awaits the mentor's answer
    UNMATCHED = "unmatched"  # no mentor is possible now; the mentee and the admins are told why
    WAITING = "waiting"  # the program is closed (or forms circles): the mentee waits in it


@dataclass(frozen=True)
class Rematch:
    outcome: Outcome
    id: str | None = None  # the pair, proposal or request made
    mentor_id: str | None = None
    reason: str | None = None  # why no mentor is possible (unmatched)


_MADE = {Approval.FINAL: Outcome.PAIRED, Approval.ADMIN: Outcome.PROPOSED, Approval.MENTOR: Outcome.REQUESTED}


def _where(seat: MenteeSeat | None) -> Rematch | None:
    """What the seat has now, if not waiting any more (matched by someone else meanwhile)."""
    if seat is None or seat.waiting:
        return None
    if seat.status is SeatStatus.PAIRED and seat.pair is not None:
        return Rematch(Outcome.PAIRED, seat.pair.pair_id, seat.pair.mentor_id)
    if seat.status is SeatStatus.HELD and seat.hold is not None:
        kind = Outcome.PROPOSED if seat.hold.kind is HoldKind.PROPOSAL else Outcome.REQUESTED
        return Rematch(kind, seat.hold.id, seat.hold.mentor_id)
    return Rematch(Outcome.WAITING)


async def rematch_now(
    m: Matching, org_id: str, seat_id: str, cause: Cause, ended_pair_id: str | None = None
) -> Rematch:
    """Match this waiting seat now in its program; returns what became of it."""
    seat = await m.seats.get(seat_id, org_id)
    if seat is None or (done := _where(seat)) is not None:
        return done or Rematch(Outcome.WAITING)
    program = await find_program(m, org_id, seat.program_id)
    if program is None or not program.is_open or program.forms_circles:
        return Rematch(Outcome.WAITING)
    if program.continuous:  # the same engine over everyone waiting, as any change would run it
        await match_continuously(m, org_id)
        if (done := _where(await m.seats.get(seat_id, org_id))) is not None:
            return done
    view = await m.reads.org(org_id)
    seat = view.seats.get(seat_id)
    if seat is None or not seat.waiting:
        return _where(seat) or Rematch(Outcome.WAITING)
    now = m.now()
    for suggestion in view.suggestions(program, seat, now, limit=5):
        match = as_match(suggestion.mentor_id, suggestion.score, suggestion.reasons, suggestion.breakdown)
        if (made := await pool.offer(m, program, seat, match, automatic=True)) is not None:
            return Rematch(_MADE[program.approval], made, suggestion.mentor_id)
        current = await m.seats.get(seat_id, org_id)
        if current is None or not current.waiting:
            return _where(current) or Rematch(Outcome.WAITING)
        seat = current
    rule, reason = view.why_unmatched(program, seat, now)
    await pool.change_seen(m, seat, lambda s: s.unmatched(cause.value, rule.value, reason, ended_pair_id))
    return Rematch(Outcome.UNMATCHED, reason=reason)
