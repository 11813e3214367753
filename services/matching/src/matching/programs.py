"""Programs: what an admin configures (type, approval, enrollment, weights, rules, capacities,
dates, fairness), stored one document per program in `programs`, and the HTTP routes for them.

Every org has the built-in program `open` (one-to-one, continuous, final) until an admin stores
their own settings under that id."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from mentorship_schemas.events import Cadence
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pymongo.errors import DuplicateKeyError
from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from matching.domain.programs import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    MatchingPolicy,
    MatchingRules,
    ProgramType,
)

PROGRAMS = "programs"
DEFAULT_PROGRAM = "open"
ProgramId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
PersonId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]


class Approval(StrEnum):
    """What happens to a match the engine makes."""

    FINAL = "final"  # a pair at once (PairCreated)
    ADMIN = "admin_approval"  # MatchProposed; a program admin approves or rejects
    MENTOR = "mentor_acceptance"  # MentorshipRequested; the mentor accepts or declines


class Enrollment(StrEnum):
    OPEN = "open"  # every employee of the org may join, as mentee or mentor
    INVITE = "invite"  # only the listed people


class ProgramStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Fairness(BaseModel):
    """A floor for a consented group (matched on the restricted inclusion attributes), enforced by
    the solver as a constraint."""

    model_config = ConfigDict(extra="forbid")
    attribute: str = Field(min_length=1, max_length=64)
    value: str = Field(min_length=1, max_length=128)
    min_match_rate: float = Field(ge=0, le=1)
    min_average_score: float | None = Field(default=None, ge=0, le=1)


class ProgramSettings(BaseModel):
    """Everything an admin can set on a program; validated as a whole on create and on change."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    type: ProgramType = ProgramType.ONE_TO_ONE
    approval: Approval = Approval.FINAL
    continuous: bool = Field(
        default=True, description="Match waiting mentees as soon as a fitting mentor is available."
    )
    status: ProgramStatus = ProgramStatus.OPEN
    default_cadence: Cadence = Cadence.BIWEEKLY
    duration_weeks: int | None = Field(default=None, ge=1, le=156, description="A pair ends after this.")
    ends_on: AwareDatetime | None = Field(default=None, description="Every pair of the program ends then.")
    focus_skill: str | None = Field(default=None, min_length=1, max_length=100)
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    require_shared_language: bool = True
    program_mentor_capacity: int | None = Field(default=None, ge=1, le=20)
    load_spread_penalty: float = Field(default=0.01, ge=0, le=1)
    request_ttl_hours: int = Field(default=72, ge=1, le=720, description="An unanswered request expires.")
    mentors_per_mentee: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Above 1: a mentee gets up to this many mentors, one per focus area (their wanted "
        "skills, in the order they listed them).",
    )
    circle_min_size: int = Field(default=4, ge=2, le=20)
    circle_max_size: int = Field(default=6, ge=2, le=20)
    enrollment: Enrollment = Enrollment.OPEN
    enrolled_mentees: list[PersonId] = Field(default_factory=list, max_length=50_000)
    enrolled_mentors: list[PersonId] = Field(default_factory=list, max_length=50_000)
    fairness: Fairness | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ProgramSettings:
        unknown = sorted(set(self.weights) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"weights: unknown components {unknown}; known: {list(COMPONENTS)}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights: must not be negative, and at least one must be positive")
        if self.type is ProgramType.SKILLS_BASED and (self.focus_skill is None or self.ends_on is None):
            raise ValueError("a skills_based program needs focus_skill and ends_on")
        if self.type is ProgramType.CIRCLES and self.mentors_per_mentee != 1:
            raise ValueError("a circles program has no mentors: mentors_per_mentee must be 1")
        if self.circle_min_size > self.circle_max_size:
            raise ValueError("circle_min_size must not exceed circle_max_size")
        return self


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


class Program(ProgramIn):
    org_id: str
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def policy(self) -> MatchingPolicy:
        return MatchingPolicy(
            org_id=self.org_id,
            program_type=self.type,
            weights=dict(self.weights),
            rules=MatchingRules(
                require_shared_language=self.require_shared_language, focus_skill=self.focus_skill
            ),
            load_spread_penalty=self.load_spread_penalty,
            program_mentor_capacity=self.program_mentor_capacity,
        )

    def admits(self, person_id: str, role: str) -> bool:
        """Whether this person may take part in the program in this role."""
        if self.enrollment is Enrollment.OPEN:
            return True
        listed = self.enrolled_mentees if role == "mentee" else self.enrolled_mentors
        return person_id in listed

    def pair_ends_at(self, created_at: datetime) -> datetime | None:
        """When a pair made now ends by itself: the program's end date or its duration, the earlier."""
        ends = [self.ends_on] if self.ends_on else []
        if self.duration_weeks:
            ends.append(created_at + timedelta(weeks=self.duration_weeks))
        return min(ends) if ends else None


def default_program(org_id: str) -> Program:
    return Program(program_id=DEFAULT_PROGRAM, org_id=org_id, name="Open mentoring")


def program_key(org_id: str, program_id: str) -> str:
    return f"{org_id}:{program_id}"


async def load_program(runtime: ServiceRuntime, org_id: str, program_id: str) -> Program | None:
    document = await runtime.db[PROGRAMS].find_one({"_id": program_key(org_id, program_id)})
    if document is None:
        return default_program(org_id) if program_id == DEFAULT_PROGRAM else None
    document.pop("_id", None)
    return Program.model_validate(document)


async def require_program(runtime: ServiceRuntime, org_id: str, program_id: str) -> Program:
    program = await load_program(runtime, org_id, program_id)
    if program is None:
        raise Problem(404, "Not Found", f"no program {program_id!r} in your organisation")
    return program


async def org_programs(runtime: ServiceRuntime, org_id: str) -> dict[str, Program]:
    """Every program of the org by id, the built-in `open` included."""
    programs = {DEFAULT_PROGRAM: default_program(org_id)}
    async for document in runtime.db[PROGRAMS].find({"org_id": org_id}):
        document.pop("_id", None)
        program = Program.model_validate(document)
        programs[program.program_id] = program
    return programs


router = APIRouter(prefix="/programs", tags=["programs"])


@router.post("", response_model=Program, status_code=201, summary="Create a program (admins)")
async def create_program(request: Request, principal: CurrentPrincipal, body: ProgramIn) -> Program:
    forbid_unless(principal.is_admin, "create programs")
    runtime: ServiceRuntime = request.app.state.runtime
    now = runtime.clock.now()
    program = Program(**body.model_dump(), org_id=principal.org_id, created_at=now, updated_at=now)
    try:
        await runtime.db[PROGRAMS].insert_one(
            {"_id": program_key(principal.org_id, body.program_id), **program.model_dump(mode="python")}
        )
    except DuplicateKeyError as error:
        raise Problem(
            409, "Conflict", f"program {body.program_id!r} exists", extensions={"field": "program_id"}
        ) from error
    return program


@router.get("", response_model=list[Program], summary="The organisation's programs")
async def list_programs(request: Request, principal: CurrentPrincipal) -> list[Program]:
    runtime: ServiceRuntime = request.app.state.runtime
    programs = sorted((await org_programs(runtime, principal.org_id)).values(), key=lambda p: p.program_id)
    return [p if principal.is_admin else _public(p) for p in programs]


@router.get("/{program_id}", response_model=Program, summary="One program")
async def get_program(
    request: Request, principal: CurrentPrincipal, program_id: str = Path(min_length=1, max_length=64)
) -> Program:
    program = await require_program(request.app.state.runtime, principal.org_id, program_id)
    return program if principal.is_admin else _public(program)


def _public(program: Program) -> Program:
    """What employees see: no enrollment lists and no fairness group."""
    return program.model_copy(update={"enrolled_mentees": [], "enrolled_mentors": [], "fairness": None})


@router.patch("/{program_id}", response_model=Program, summary="Change a program (admins)")
async def change_program(
    request: Request,
    principal: CurrentPrincipal,
    body: ProgramPatch,
    program_id: str = Path(min_length=1, max_length=64),
) -> Program:
    forbid_unless(principal.is_admin, "change programs")
    runtime: ServiceRuntime = request.app.state.runtime
    current = await require_program(runtime, principal.org_id, program_id)
    changes = body.model_dump(exclude_unset=True)
    merged: dict[str, Any] = {**current.model_dump(), **changes}
    try:
        settings = ProgramSettings.model_validate(
            {k: v for k, v in merged.items() if k in ProgramSettings.model_fields}
        )
    except ValidationError as error:
        raise Problem(422, "Unprocessable Content", _first_error(error)) from error
    now = runtime.clock.now()
    updated = Program(
        **settings.model_dump(),
        program_id=program_id,
        org_id=principal.org_id,
        version=current.version + 1,
        created_at=current.created_at or now,
        updated_at=now,
    )
    document = updated.model_dump(mode="python")
    key = program_key(principal.org_id, program_id)
    if current.created_at is None:  # the built-in default, stored for the first time
        try:
            await runtime.db[PROGRAMS].insert_one({"_id": key, **document})
        except DuplicateKeyError as error:
            raise Problem(409, "Conflict", "the program changed meanwhile; read it and retry") from error
        return updated
    result = await runtime.db[PROGRAMS].update_one(
        {"_id": key, "version": current.version}, {"$set": document}
    )
    if result.modified_count != 1:
        raise Problem(409, "Conflict", "the program changed meanwhile; read it and retry")
    return updated


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first['msg']}" if where else str(first["msg"])
