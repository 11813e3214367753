"""Program admins deciding by hand: pairing two people (the hard rules still apply; a soft rule is
overridden only with a stated reason) and the audit of what admins decided about a mentee."""

from __future__ import annotations

from mentorship_schemas.events import PersonRole

from matching.domain.manual import SOFT_RULES, relaxed, soft_concerns
from matching.domain.match_run import as_match
from matching.domain.program import Approval
from matching.domain.seat import SeatStatus
from matching.domain.seat_parts import AuditEntry
from matching.domain.suggestions import rank_mentors, why_not
from matching.use_cases import pool
from matching.use_cases.context import Caller, Conflict, Matching, NotFound, Refused
from matching.use_cases.programs import require_program


async def pair_by_hand(
    m: Matching, caller: Caller, program_id: str, mentee_id: str, mentor_id: str, reason: str | None
) -> tuple[str, list[str]]:
    """PairCreated for this mentee and mentor in the program; returns the pair id and the soft
    rules overridden. Refused (naming the rule) when a hard rule forbids the pair, or when a soft
    one does and no reason is given."""
    program = await require_program(m, caller.org_id, program_id)
    if not program.is_open or program.forms_circles:
        raise Conflict(f"Program {program_id!r} is closed or forms circles: nobody is paired in it by hand.")
    if not program.admits(mentee_id, PersonRole.MENTEE):
        raise Refused(f"{mentee_id} is not enrolled as a mentee in this program.", field="mentee_id")
    if not program.admits(mentor_id, PersonRole.MENTOR):
        raise Refused(f"{mentor_id} is not enrolled as a mentor in this program.", field="mentor_id")
    view = await m.reads.org(caller.org_id)
    seat = view.seat(mentee_id)
    if seat is None or seat.status is SeatStatus.ERASED:
        raise NotFound(f"{mentee_id} is not registered as a mentee.", field="mentee_id")
    if seat.status not in (SeatStatus.WAITING, SeatStatus.ENDED):
        raise Conflict(f"{mentee_id} has a mentor or an open request or proposal now.", field="mentee_id")
    if mentor_id not in view.mentors:
        raise Refused(f"{mentor_id} is not a mentor.", field="mentor_id")
    if seat.program_id != program_id or seat.status is SeatStatus.ENDED:
        if not await pool.rejoin(m, seat, program_id):
            raise Conflict("The mentee changed meanwhile; retry.")
        view = await m.reads.org(caller.org_id)
        seat = view.seat(mentee_id)
        assert seat is not None
    now = m.now()
    policy = relaxed(program.policy())
    mentee = seat.match_profile_now(now)
    mentor = next(p for p in view.mentor_profiles(program, now) if p.person_id == mentor_id)
    excluded = view.excluded_for(seat)
    hard = why_not(policy, mentee, mentor, managers=view.managers, excluded_mentors=excluded)
    if hard is not None:
        raise Refused(f"{mentee_id} and {mentor_id} cannot be paired. {hard}", field="mentor_id")
    soft = soft_concerns(program.policy(), mentee, mentor)
    if soft and not (reason and reason.strip()):
        against = " ".join(SOFT_RULES[rule] for rule in soft)
        raise Refused(
            f"This pair goes against a soft rule. {against} State a reason to override it.", field="reason"
        )
    (fit,) = rank_mentors(
        policy, mentee, [mentor], managers=view.managers, excluded_mentors=excluded, limit=1
    )
    audit = AuditEntry(
        at=now,
        by=caller.person_id,
        action="paired_by_hand",
        mentor_id=mentor_id,
        note=reason,
        overridden=soft,
    )
    made = await pool.offer(
        m,
        program,
        seat,
        as_match(mentor_id, fit.score, fit.reasons, fit.breakdown),
        approval=Approval.FINAL,
        audit=audit,
    )
    if made is None:
        raise Conflict(f"{mentor_id} has no free place now, or the mentee changed meanwhile; retry.")
    return made, soft


async def audit_of(m: Matching, org_id: str, person_id: str) -> list[AuditEntry]:
    """What admins decided by hand about this mentee, oldest first, across their seats."""
    entries = [entry for seat in await m.reads.seats_of(org_id, person_id) for entry in seat.audit]
    return sorted(entries, key=lambda entry: entry.at)
