"""HTTP routes for programs: admins create and change them, everyone lists them (employees without
enrollment lists and fairness group)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from mentorship_schemas.events import Cadence
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.program import (
    Approval,
    Enrollment,
    Fairness,
    PersonId,
    Program,
    ProgramSettings,
    ProgramStatus,
)
from matching.domain.programs import ProgramType
from matching.use_cases import programs

ProgramId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
ProgramPath = Annotated[str, Path(min_length=1, max_length=64)]

router = APIRouter(prefix="/programs", tags=["programs"])


class ProgramIn(ProgramSettings):
    program_id: ProgramId


class ProgramPatch(BaseModel):
    """Only the fields to change; the result is validated as a whole."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: ProgramType | None = None
    approval: Approval | None = None
    continuous: bool | None = None
    status: ProgramStatus | None = None
    default_cadence: Cadence | None = None
    duration_weeks: int | None = Field(default=None, ge=1, le=156)
    ends_on: AwareDatetime | None = None
    focus_skill: str | None = Field(default=None, min_length=1, max_length=100)
    weights: dict[str, float] | None = None
    require_shared_language: bool | None = None
    program_mentor_capacity: int | None = Field(default=None, ge=1, le=20)
    load_spread_penalty: float | None = Field(default=None, ge=0, le=1)
    request_ttl_hours: int | None = Field(default=None, ge=1, le=720)
    mentors_per_mentee: int | None = Field(default=None, ge=1, le=5)
    circle_min_size: int | None = Field(default=None, ge=2, le=20)
    circle_max_size: int | None = Field(default=None, ge=2, le=20)
    enrollment: Enrollment | None = None
    enrolled_mentees: list[PersonId] | None = Field(default=None, max_length=50_000)
    enrolled_mentors: list[PersonId] | None = Field(default=None, max_length=50_000)
    fairness: Fairness | None = None


class ProgramOut(ProgramIn):
    org_id: str
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    weights_version: int = Field(
        default=0, description="Adopted learned weights: the latest version (0: none)."
    )


def _out(program: Program) -> ProgramOut:
    adopted = max((v.version for v in program.weights_history), default=0)
    return ProgramOut.model_validate(
        program.model_dump(exclude={"id", "weights_history"}) | {"weights_version": adopted}
    )


@router.post(
    "",
    response_model=ProgramOut,
    status_code=201,
    summary="Create a program (admins)",
    responses=problems(403, 409),
)
async def create_program(matching: MatchingDep, caller: CallerDep, body: ProgramIn) -> ProgramOut:
    forbid_unless(caller.is_admin, "create programs")
    settings = ProgramSettings.model_validate(body.model_dump(exclude={"program_id"}))
    return _out(await programs.create_program(matching, caller.org_id, body.program_id, settings))


@router.get("", response_model=list[ProgramOut], summary="The organisation's programs")
async def list_programs(matching: MatchingDep, caller: CallerDep) -> list[ProgramOut]:
    return [_out(programs.as_seen_by(caller, p)) for p in await programs.programs_of(matching, caller.org_id)]


@router.get("/{program_id}", response_model=ProgramOut, summary="One program", responses=problems(404))
async def get_program(matching: MatchingDep, caller: CallerDep, program_id: ProgramPath) -> ProgramOut:
    program = await programs.require_program(matching, caller.org_id, program_id)
    return _out(programs.as_seen_by(caller, program))


@router.patch(
    "/{program_id}",
    response_model=ProgramOut,
    summary="Change a program (admins)",
    responses=problems(403, 404, 409, 422),
)
async def change_program(
    matching: MatchingDep, caller: CallerDep, body: ProgramPatch, program_id: ProgramPath
) -> ProgramOut:
    forbid_unless(caller.is_admin, "change programs")
    changes = body.model_dump(exclude_unset=True)
    return _out(await programs.change_program(matching, caller.org_id, program_id, changes))
