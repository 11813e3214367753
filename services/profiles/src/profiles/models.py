"""The profile as the portal sends and reads it: pydantic models whose validation errors name the
field (the API answers 422 problem+json with them, the HR import reports them per row)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mentorship_schemas.events import Cadence, PersonRole
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from profiles.domain.availability import Availability
from profiles.domain.profile import CommunicationStyle, Modality, Seniority, SkillLevel, is_language_code

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TIMEZONES = available_timezones()


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value.lower()


def _timezone(value: str) -> str:
    if value not in _TIMEZONES:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("not an IANA timezone name") from error
    return value


def _language(value: str) -> str:
    if not is_language_code(value):
        raise ValueError("not an ISO 639-1 language code (like 'en' or 'pt-BR')")
    return value


def _skill_from_text(value: Any) -> Any:
    # "python" is shorthand for {"name": "python"}; objects pass through to be validated.
    return {"name": value} if isinstance(value, str) else value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Language = Annotated[str, Field(max_length=8), AfterValidator(_language)]
ShortText = Annotated[str, Field(min_length=1, max_length=80)]
EmployeeId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]


class SkillOffered(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    level: SkillLevel = SkillLevel.INTERMEDIATE


class SkillWanted(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    target_level: SkillLevel | None = None


class Boundaries(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topics_in: list[ShortText] = Field(default_factory=list, max_length=30)
    topics_out: list[ShortText] = Field(default_factory=list, max_length=30)
    longest_cadence: Cadence | None = None


class Inclusion(BaseModel):
    """Consented inclusion attributes: stored only with consent, sent only on the restricted topic."""

    model_config = ConfigDict(extra="forbid")
    consented: bool
    attributes: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=80)]] = Field(
        default_factory=dict, max_length=10
    )


class ProfileChanges(BaseModel):
    """Every editable field, all optional: a PATCH sends only what changes."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: Email | None = None
    title: str | None = Field(default=None, max_length=120)
    department: str | None = Field(default=None, max_length=120)
    level: Seniority | None = None
    years_experience: int | None = Field(default=None, ge=0, le=70)
    manager_id: EmployeeId | None = None
    location: str | None = Field(default=None, max_length=120)
    timezone: Timezone | None = None
    languages: list[Language] | None = Field(default=None, max_length=10)
    locale: Language | None = None
    roles: list[PersonRole] | None = Field(default=None, min_length=1, max_length=2)
    peer_mentoring: bool | None = None
    reverse_mentoring: bool | None = None
    skills_offered: list[Annotated[SkillOffered, BeforeValidator(_skill_from_text)]] | None = Field(
        default=None, max_length=50
    )
    skills_wanted: list[Annotated[SkillWanted, BeforeValidator(_skill_from_text)]] | None = Field(
        default=None, max_length=50
    )
    goals: str | None = Field(default=None, max_length=2000)
    challenges: str | None = Field(default=None, max_length=2000)
    interests: list[ShortText] | None = Field(default=None, max_length=30)
    communication_style: CommunicationStyle | None = None
    personality: dict[Annotated[str, Field(max_length=60)], Annotated[str, Field(max_length=200)]] | None = (
        Field(default=None, max_length=12)
    )
    mentor_capacity: int | None = Field(default=None, ge=0, le=20)
    accepting_mentees: bool | None = None
    boundaries: Boundaries | None = None
    preferred_cadence: Cadence | None = None
    modalities: list[Modality] | None = Field(default=None, max_length=3)
    inclusion: Inclusion | None = None


class ProfileIn(ProfileChanges):
    """A new profile: name, email and roles are required; the rest has defaults."""

    person_id: EmployeeId | None = Field(
        default=None,
        description="Employee id; defaults to the caller's own (`sub`). Only admins set another.",
    )
    display_name: str = Field(min_length=1, max_length=200)
    email: Email
    roles: list[PersonRole] = Field(min_length=1, max_length=2)


DEFAULTS: dict[str, Any] = {
    "title": None, "department": None, "level": None, "years_experience": None, "manager_id": None,
    "location": None, "timezone": "UTC", "languages": [], "locale": "en", "peer_mentoring": False,
    "reverse_mentoring": False, "skills_offered": [], "skills_wanted": [], "goals": None,
    "challenges": None, "interests": [], "communication_style": None, "personality": {},
    "mentor_capacity": 0, "accepting_mentees": True,
    "boundaries": {"topics_in": [], "topics_out": [], "longest_cadence": None},
    "preferred_cadence": None, "modalities": [],
}  # fmt: skip


class ProfileOut(BaseModel):
    person_id: str
    org_id: str
    display_name: str
    email: str
    title: str | None
    department: str | None
    level: str | None
    years_experience: int | None
    manager_id: str | None
    location: str | None
    timezone: str
    languages: list[str]
    locale: str
    roles: list[PersonRole]
    peer_mentoring: bool
    reverse_mentoring: bool
    skills_offered: list[dict[str, Any]]
    skills_wanted: list[dict[str, Any]]
    goals: str | None
    challenges: str | None
    interests: list[str]
    communication_style: str | None
    personality: dict[str, str]
    mentor_capacity: int
    accepting_mentees: bool
    boundaries: dict[str, Any]
    preferred_cadence: str | None
    modalities: list[str]
    inclusion: dict[str, Any] | None = Field(default=None, description="Shown to the person only.")
    active_mentees: int
    availability: Availability
    version: int


class ProfilePage(BaseModel):
    items: list[ProfileOut]
    total: int
    page: int
    page_size: int
