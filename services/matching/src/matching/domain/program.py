"""A program as an admin configures it (type, approval, enrollment, weights, rules, capacities,
dates, fairness), validated as a whole, and the aggregate that stores it.

Every org has the built-in program `open` (one-to-one, continuous, final) until an admin stores
their own settings under that id."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from mentorship_schemas.events import Cadence, PersonRole
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from servicekit.aggregates import AggregateRoot, Emitted

from matching.domain.program_weights import WeightsVersion
from matching.domain.programs import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    MatchingPolicy,
    MatchingRules,
    ProgramType,
)

DEFAULT_PROGRAM = "open"
PersonId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]


# A mentee has one seat per focus area, so at most this many seats (their ids are numbered).
MAX_MENTORS_PER_MENTEE = 5


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
        le=MAX_MENTORS_PER_MENTEE,
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

    def settings(self) -> ProgramSettings:
        return ProgramSettings.model_validate(self.model_dump(include=set(ProgramSettings.model_fields)))


def program_key(org_id: str, program_id: str) -> str:
    return f"{org_id}:{program_id}"


class Program(AggregateRoot, ProgramSettings):
    """One program of an org, stored under `org:program_id`; `version` counts its changes from 1."""

    model_config = ConfigDict(extra="ignore")
    program_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Learned weights adopted (or reverted), oldest first: the audit trail of `weights` (program_weights.py).
    weights_history: list[WeightsVersion] = Field(default_factory=list)

    @classmethod
    def create(cls, org_id: str, program_id: str, settings: ProgramSettings, now: datetime) -> Program:
        return cls(
            id=program_key(org_id, program_id),
            org_id=org_id,
            program_id=program_id,
            version=1,
            created_at=now,
            updated_at=now,
            **settings.model_dump(),
        )

    @classmethod
    def built_in(cls, org_id: str) -> Program:
        """The program every org has until an admin stores their own (never stored: no created_at)."""
        return cls(
            id=program_key(org_id, DEFAULT_PROGRAM),
            org_id=org_id,
            program_id=DEFAULT_PROGRAM,
            version=1,
            name="Open mentoring",
        )

    @property
    def stored(self) -> bool:
        return self.created_at is not None

    @property
    def is_open(self) -> bool:
        return self.status is ProgramStatus.OPEN

    @property
    def forms_circles(self) -> bool:
        """A circles program's members meet in circles: no one-to-one pair, request or proposal."""
        return self.type is ProgramType.CIRCLES

    def merged_settings(self, changes: dict[str, Any]) -> ProgramSettings:
        """The settings with `changes` applied, validated as a whole (raises ValidationError)."""
        return ProgramSettings.model_validate({**self.settings().model_dump(), **changes})

    def store_first(self, settings: ProgramSettings, now: datetime) -> None:
        """The built-in program counts as version 1; its first stored version is the next."""
        self.change(settings, now)
        self.version += 1

    def for_employees(self) -> Program:
        """What employees see: no enrollment lists and no fairness group."""
        return self.model_copy(update={"enrolled_mentees": [], "enrolled_mentors": [], "fairness": None})

    def change(self, settings: ProgramSettings, now: datetime) -> list[Emitted]:
        for name in ProgramSettings.model_fields:
            setattr(self, name, getattr(settings, name))
        self.updated_at = now
        self.created_at = self.created_at or now
        return []

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

    def admits(self, person_id: str, role: PersonRole) -> bool:
        """Whether this person may take part in the program in this role."""
        if self.enrollment is Enrollment.OPEN:
            return True
        listed = self.enrolled_mentees if role is PersonRole.MENTEE else self.enrolled_mentors
        return person_id in listed

    def lists(self, person_id: str) -> bool:
        return person_id in self.enrolled_mentees or person_id in self.enrolled_mentors

    def forget_enrolled(self, person_id: str) -> list[Emitted]:
        """Erasure: the person leaves the program's invitation lists (nobody is invited any more)."""
        self.enrolled_mentees = [p for p in self.enrolled_mentees if p != person_id]
        self.enrolled_mentors = [p for p in self.enrolled_mentors if p != person_id]
        return []

    def pair_ends_at(self, created_at: datetime) -> datetime | None:
        """When a pair made now ends by itself: the program's end date or its duration, the earlier."""
        ends = [self.ends_on] if self.ends_on else []
        if self.duration_weeks:
            ends.append(created_at + timedelta(weeks=self.duration_weeks))
        return min(ends) if ends else None

    def request_deadline(self, now: datetime) -> datetime:
        return now + timedelta(hours=self.request_ttl_hours)
