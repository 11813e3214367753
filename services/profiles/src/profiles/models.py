"""The profile as the portal sends and reads it: pydantic models whose validation errors name the
field (the API answers 422 problem+json with them, the HR import reports them per row).

Hostile input stops here: a field that may not be null refuses an explicit `null` (leaving it out
keeps its value, or its default), every number and list is bounded, and control characters (NUL
and the like) are refused in names, keys, ids and emails; free text may keep line breaks and tabs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mentorship_schemas.events import Cadence, PersonRole
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from profiles.domain.availability import Availability
from profiles.domain.person import Boundaries, Inclusion, Person
from profiles.domain.profile import (
    EMPLOYEE_ID,
    CommunicationStyle,
    Modality,
    OfferedSkill,
    Seniority,
    SkillLevel,
    WantedSkill,
    is_employee_id,
    is_language_code,
)

T = TypeVar("T")

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TIMEZONES = available_timezones()
# C0 and C1 controls, DEL, and lone surrogates (which no store can encode).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise _refuse(
            "control_character", "It may not contain control characters (such as NUL or a line break)."
        )
    return value


def _text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise _refuse(
            "control_character", "It may not contain control characters other than line breaks and tabs."
        )
    return value


def _key(value: str) -> str:
    if value.startswith("$") or "." in value:
        raise _refuse("key", "A key may not start with '$' or contain '.'.")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise _refuse("email", "It is not a valid email address.")
    return value.lower()


def _timezone(value: str) -> str:
    if value not in _TIMEZONES:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise _refuse("timezone", "It is not an IANA timezone name (like 'Europe/Paris').") from error
    return value


def _language(value: str) -> str:
    if not is_language_code(value):
        raise _refuse("language", "It is not an ISO 639-1 language code (like 'en' or 'pt-BR').")
    return value


def _employee_id(value: str) -> str:
    if not is_employee_id(value):
        raise _refuse("employee_id", "An employee id is 1 to 128 letters, digits or . _ : @ -.")
    return value


def _not_null(value: T | None) -> T:
    if value is None:
        raise _refuse("not_null", "It may not be null: leave the field out instead.")
    return value


def _distinct(values: list[T]) -> list[T]:
    """The same role, language or modality twice means it once (the first place counts)."""
    return list(dict.fromkeys(values))


def _skill_from_text(value: Any) -> Any:
    # "python" is shorthand for {"name": "python"}; objects pass through to be validated.
    return {"name": value} if isinstance(value, str) else value


def _without_null(schema: dict[str, Any]) -> None:
    """The documented schema of a NotNull field: its type, without the `null` it refuses."""
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    if schema.get("default", ...) is None:
        del schema["default"]


# A field that may be left out but never sent as null (and documented without null).
NotNull = Annotated[T | None, AfterValidator(_not_null), Field(json_schema_extra=_without_null)]

OneLine = Annotated[str, AfterValidator(_one_line)]
Label = Annotated[OneLine, Field(max_length=120)]
ShortText = Annotated[OneLine, Field(min_length=1, max_length=80)]
DisplayName = Annotated[OneLine, Field(min_length=1, max_length=200)]
FreeText = Annotated[str, Field(max_length=2000), AfterValidator(_text)]
Email = Annotated[OneLine, Field(max_length=320), AfterValidator(_email)]
Timezone = Annotated[OneLine, Field(max_length=64), AfterValidator(_timezone)]
Language = Annotated[str, Field(max_length=8), AfterValidator(_language)]
EmployeeId = Annotated[
    str,
    Field(min_length=1, max_length=128, json_schema_extra={"pattern": EMPLOYEE_ID.pattern}),
    AfterValidator(_employee_id),
]
PersonalityKey = Annotated[OneLine, Field(min_length=1, max_length=60), AfterValidator(_key)]
PersonalityAnswer = Annotated[str, Field(max_length=200), AfterValidator(_text)]
InclusionKey = Annotated[OneLine, Field(min_length=1, max_length=40), AfterValidator(_key)]
InclusionValue = Annotated[OneLine, Field(max_length=80)]


class SkillOfferedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    level: SkillLevel = SkillLevel.INTERMEDIATE


class SkillWantedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    target_level: SkillLevel | None = None


class BoundariesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topics_in: list[ShortText] = Field(default_factory=list, max_length=30)
    topics_out: list[ShortText] = Field(default_factory=list, max_length=30)
    longest_cadence: Cadence | None = None


class InclusionIn(BaseModel):
    """Consented inclusion attributes: stored only with consent, sent only on the restricted topic."""

    model_config = ConfigDict(extra="forbid")
    consented: bool
    attributes: dict[InclusionKey, InclusionValue] = Field(default_factory=dict, max_length=10)


Languages = Annotated[list[Language], Field(max_length=10), AfterValidator(_distinct)]
Roles = Annotated[list[PersonRole], Field(min_length=1, max_length=2), AfterValidator(_distinct)]
SkillsOffered = Annotated[
    list[Annotated[SkillOfferedIn, BeforeValidator(_skill_from_text)]], Field(max_length=50)
]
SkillsWanted = Annotated[
    list[Annotated[SkillWantedIn, BeforeValidator(_skill_from_text)]], Field(max_length=50)
]
Interests = Annotated[list[ShortText], Field(max_length=30)]
Personality = Annotated[dict[PersonalityKey, PersonalityAnswer], Field(max_length=12)]
MentorCapacity = Annotated[int, Field(ge=0, le=20)]
Modalities = Annotated[list[Modality], Field(max_length=3), AfterValidator(_distinct)]


class ProfileChanges(BaseModel):
    """Every editable field, all optional: a PATCH sends only what changes. `null` clears a field
    that may be empty (title, goals, ...) and is refused for one that may not (timezone, roles, ...)."""

    model_config = ConfigDict(extra="forbid")

    display_name: NotNull[DisplayName] = None
    email: NotNull[Email] = None
    title: Label | None = None
    department: Label | None = None
    level: Seniority | None = None
    years_experience: Annotated[int, Field(ge=0, le=70)] | None = None
    manager_id: EmployeeId | None = None
    location: Label | None = None
    timezone: NotNull[Timezone] = None
    languages: NotNull[Languages] = None
    locale: NotNull[Language] = None
    roles: NotNull[Roles] = None
    peer_mentoring: NotNull[bool] = None
    reverse_mentoring: NotNull[bool] = None
    skills_offered: NotNull[SkillsOffered] = None
    skills_wanted: NotNull[SkillsWanted] = None
    goals: FreeText | None = None
    challenges: FreeText | None = None
    interests: NotNull[Interests] = None
    communication_style: CommunicationStyle | None = None
    personality: NotNull[Personality] = None
    mentor_capacity: NotNull[MentorCapacity] = Field(default=None, description="Mentors only: 0 to 20.")
    accepting_mentees: NotNull[bool] = None
    boundaries: NotNull[BoundariesIn] = None
    preferred_cadence: Cadence | None = None
    modalities: NotNull[Modalities] = None
    inclusion: NotNull[InclusionIn] = None


class ProfileIn(ProfileChanges):
    """A new profile: name, email and roles are required; the rest has defaults."""

    person_id: EmployeeId | None = Field(
        default=None,
        description="Employee id; defaults to the caller's own (`sub`). Only admins set another.",
    )
    display_name: DisplayName
    email: Email
    roles: Roles


class ProfileOut(BaseModel):
    person_id: str
    org_id: str
    display_name: str
    email: str
    title: str | None
    department: str | None
    level: Seniority | None
    years_experience: int | None
    manager_id: str | None
    location: str | None
    timezone: str
    languages: list[str]
    locale: str
    roles: list[PersonRole]
    peer_mentoring: bool
    reverse_mentoring: bool
    skills_offered: list[OfferedSkill]
    skills_wanted: list[WantedSkill]
    goals: str | None
    challenges: str | None
    interests: list[str]
    communication_style: CommunicationStyle | None
    personality: dict[str, str]
    mentor_capacity: int
    accepting_mentees: bool
    boundaries: Boundaries
    preferred_cadence: Cadence | None
    modalities: list[Modality]
    inclusion: Inclusion | None = Field(default=None, description="Shown to the person only.")
    active_mentees: int
    availability: Availability
    version: int

    @classmethod
    def of(cls, person: Person, viewer_id: str) -> ProfileOut:
        """The profile as `viewer_id` may see it: inclusion attributes only for the person."""
        shown = set(cls.model_fields) - {"active_mentees", "inclusion"}
        return cls(
            **person.model_dump(include=shown),
            inclusion=person.inclusion if viewer_id == person.person_id else None,
            active_mentees=person.load.active_mentees,
        )


class ProfilePage(BaseModel):
    items: list[ProfileOut]
    total: int = Field(description="Matching profiles in the org (a page may hold fewer).")
    page: int
    page_size: int
