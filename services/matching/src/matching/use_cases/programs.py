"""Programs: find one (the built-in `open` included), create one, change one (validated as a
whole), and what employees may see of them."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from matching.domain.program import DEFAULT_PROGRAM, Program, ProgramSettings, program_key
from matching.use_cases.context import Caller, Conflict, Matching, NotFound, Refused


async def find_program(m: Matching, org_id: str, program_id: str) -> Program | None:
    program = await m.programs.get(program_key(org_id, program_id), org_id)
    if program is None and program_id == DEFAULT_PROGRAM:
        return Program.built_in(org_id)
    return program


async def require_program(m: Matching, org_id: str, program_id: str) -> Program:
    program = await find_program(m, org_id, program_id)
    if program is None:
        raise NotFound(f"There is no program {program_id!r} in your organisation.")
    return program


async def programs_of(m: Matching, org_id: str) -> list[Program]:
    """Every program of the org, the built-in `open` included, by id."""
    programs = {DEFAULT_PROGRAM: Program.built_in(org_id)}
    programs |= {p.program_id: p for p in await m.reads.programs_of(org_id)}
    return [programs[program_id] for program_id in sorted(programs)]


def as_seen_by(caller: Caller, program: Program) -> Program:
    """Admins see everything; employees see no enrollment lists and no fairness group."""
    return program if caller.is_admin else program.for_employees()


async def create_program(m: Matching, org_id: str, program_id: str, settings: ProgramSettings) -> Program:
    program = Program.create(org_id, program_id, settings, m.now())
    if not await m.programs.create(program):
        raise Conflict(f"Program {program_id!r} exists already.", field="program_id")
    return program


async def change_program(m: Matching, org_id: str, program_id: str, changes: dict[str, Any]) -> Program:
    """Apply the changed fields; the result is validated as a whole and stored with the next version."""
    current = await require_program(m, org_id, program_id)
    try:
        settings = current.merged_settings(changes)
    except ValidationError as error:
        raise Refused(_first_error(error)) from error
    now = m.now()
    if not current.stored:  # the built-in default, stored for the first time
        current.store_first(settings, now)
        if not await m.programs.create(current):
            raise Conflict("The program changed meanwhile; read it and retry.")
        return current
    # Merged again with what is stored when the change is written, so a concurrent change stays.
    saved = await m.programs.change(
        current.id, lambda program: program.change(program.merged_settings(changes), now), org_id=org_id
    )
    if saved is None:
        raise NotFound(f"There is no program {program_id!r} in your organisation.")
    return saved.aggregate


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first['msg']}" if where else str(first["msg"])
