"""The request bodies the portal sends; unknown fields are refused (422 naming them)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from mentorship_schemas.events import Cadence
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from sessions.domain import cadence as cadence_rules
from sessions.domain.agreement import AgreementChange
from sessions.domain.parts import FeedbackAnswers

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_timezone(name: str) -> str:
    try:
        cadence_rules.zone(name)
    except cadence_rules.UnknownTimezone:
        raise PydanticCustomError(
            "unknown_timezone",
            "{name} is not a known IANA timezone (for example Europe/Paris).",
            {"name": name},
        ) from None
    return name


def _wall_clock(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise PydanticCustomError("wall_clock", "Give the time as HH:MM on a 24-hour clock, e.g. 09:30.")
    return value


Timezone = Annotated[str, AfterValidator(_known_timezone)]
WallClock = Annotated[str, AfterValidator(_wall_clock)]
Modality = Literal["in_person", "remote", "hybrid"]
Role = Annotated[str, Field(min_length=1, max_length=100)]
# Terms that always have a value: sending null for one of them is refused.
NOT_NULL = ("goals", "roles", "timezones", "cadence", "timezone", "local_time", "duration_minutes")


class AgreementIn(Strict):
    """The agreement's terms. PATCH changes only the fields sent (`roles` key by key: a null role
    removes it). PUT replaces the terms: a field left out takes the value the platform pre-filled
    when the pair was drafted (roles from the pairing, timezones, cadence and modality from the
    profiles), never an empty one. `timezones` always merge into the known ones. Either clears the
    signatures when it changes something."""

    goals: list[Title] | None = Field(default=None, max_length=20)
    roles: dict[str, Role | None] | None = Field(default=None, description="Person id -> role; null removes.")
    cadence: Cadence | None = None
    ends_on: AwareDatetime | None = None
    starts_on: AwareDatetime | None = None
    boundaries: Annotated[str, Field(max_length=2000)] | None = None
    channel: Annotated[str, Field(max_length=100)] | None = None
    modality: Modality | None = None
    meeting_link: Annotated[str, Field(max_length=500)] | None = None
    timezone: Timezone | None = Field(
        default=None, description="IANA timezone the recurring slot is kept in."
    )
    timezones: dict[str, Timezone] | None = Field(
        default=None, description="Each participant's IANA timezone."
    )
    local_time: WallClock | None = Field(default=None, description="HH:MM in `timezone`.")
    weekday: int | None = Field(default=None, ge=0, le=6, description="Monday = 0.")
    duration_minutes: int | None = Field(default=None, ge=15, le=480)

    @field_validator(*NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            raise PydanticCustomError(
                "not_null", "{name} needs a value; leave it out to keep it.", {"name": info.field_name}
            )
        return value

    def change(self, *, replace: bool) -> AgreementChange:
        return AgreementChange({name: getattr(self, name) for name in self.model_fields_set}, replace=replace)


class SignIn(Strict):
    timezone: Timezone | None = Field(default=None, description="The signer's IANA timezone.")


class SessionIn(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    location: Annotated[str, Field(max_length=500)] | None = None


class RescheduleIn(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Reason | None = None


class CancelIn(Strict):
    reason: Reason | None = None


class AgendaIn(Strict):
    text: Title


class FeedbackIn(Strict):
    useful: bool
    learned: bool
    thanks: bool = False
    text: Annotated[str, Field(max_length=2000)] | None = None

    def answers(self) -> FeedbackAnswers:
        return FeedbackAnswers(useful=self.useful, learned=self.learned, thanks=self.thanks, text=self.text)


class NoteIn(Strict):
    text: Text
    session_id: str | None = None


class ActionItemIn(Strict):
    title: Title
    owner_id: str = Field(min_length=1, max_length=128)
    due_at: AwareDatetime
    session_id: str | None = None


class GoalIn(Strict):
    title: Title
    milestones: list[Title] = Field(default_factory=list, max_length=20)


class ProgressIn(Strict):
    progress: int = Field(ge=0, le=100)
