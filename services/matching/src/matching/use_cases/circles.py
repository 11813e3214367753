"""Mentoring circles: an admin forms the circles of a circles program from the mentees waiting in
it, each announced by CircleFormed.

Without transactions a circle is formed in two steps: claim every member (waiting -> in_circle,
each member's seat carrying the whole circle), then store the circle with CircleFormed. If a
member is claimed by something else meanwhile, the members already claimed are let go and that
circle is not formed. If the process dies between the steps, the next run finds members whose
circle is missing and stores it from what they carry."""

from __future__ import annotations

from matching.domain.circles import form_circles
from matching.domain.formed_circle import FormedCircle, circle_record
from matching.domain.program import Program
from matching.domain.programs import ProgramType
from matching.domain.seat import MenteeSeat
from matching.domain.seat_parts import CircleRecord
from matching.use_cases.context import Caller, Matching, Refused
from matching.use_cases.pool import change_seen
from matching.use_cases.programs import require_program


async def form_program_circles(
    m: Matching, org_id: str, program_id: str
) -> tuple[list[FormedCircle], list[str]]:
    """Form circles from the seats waiting in the program; returns (circles formed, still waiting)."""
    program = await require_program(m, org_id, program_id)
    if program.type is not ProgramType.CIRCLES:
        raise Refused(f"Program {program_id!r} is not a circles program.")
    await _repair(m, program)
    view = await m.reads.org(org_id)
    now = m.now()
    waiting = view.waiting_in(program)
    by_person = {seat.person_id: seat for seat in waiting}
    circles = form_circles(
        [seat.match_profile_now(now) for seat in waiting], program.circle_min_size, program.circle_max_size
    )
    formed: list[FormedCircle] = []
    for circle in circles:
        record = circle_record(program, circle, now)
        if await _claim(m, [by_person[member] for member in circle.member_ids], record):
            formed.append(await _announce(m, record))
    placed = {member for circle in formed for member in circle.member_ids}
    return formed, sorted(set(by_person) - placed)


async def _claim(m: Matching, members: list[MenteeSeat], record: CircleRecord) -> bool:
    claimed: list[MenteeSeat] = []
    for member in members:
        if await change_seen(m, member, lambda seat: seat.join_circle(record)) is None:
            for done in claimed:  # let go of those already claimed
                await m.seats.change(done.id, lambda seat: seat.leave_circle(record.circle_id))
            return False
        claimed.append(member)
    return True


async def _announce(m: Matching, record: CircleRecord) -> FormedCircle:
    circle, formed = FormedCircle.form(record)
    await m.circles.create(circle, formed)  # False: formed before, announced once
    return circle


async def _repair(m: Matching, program: Program) -> None:
    """Circles whose members were claimed but which were never stored (a crash between the steps)."""
    seen: set[str] = set()
    for member in await m.reads.circle_members(program.org_id, program.program_id):
        record = member.circle
        if record is None or record.circle_id in seen:
            continue
        seen.add(record.circle_id)
        if await m.circles.get(record.circle_id) is None:
            await _announce(m, record)


async def circles_for(m: Matching, caller: Caller, program_id: str | None) -> list[FormedCircle]:
    """The caller's circles, or (admins) every circle, of a program or of all."""
    member = None if caller.is_admin else caller.person_id
    return await m.reads.circles(caller.org_id, program_id=program_id, member_id=member, limit=1000)
