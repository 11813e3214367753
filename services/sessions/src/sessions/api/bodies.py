"""The request bodies the portal sends; unknown fields are refused (422 naming them)."""

from __future__ import annotations

from typing import Annotated

from mentorship_schemas.events import Cadence
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from sessions.domain import cadence as cadence_rules
from sessions.domain.parts import AgreementTerms, FeedbackAnswers

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgreementIn(Strict):
    goals: list[Title] = Field(default_factory=list, max_length=20)
    roles: dict[str, Annotated[str, Field(max_length=100)]] = Field(default_factory=dict)
    cadence: Cadence = Cadence.MONTHLY
    ends_on: AwareDatetime | None = None
    starts_on: AwareDatetime | None = None
    boundaries: Annotated[str, Field(max_length=2000)] | None = None
    channel: Annotated[str, Field(max_length=100)] | None = None
    modality: Annotated[str, Field(pattern="^(in_person|remote|hybrid)$")] | None = None
    meeting_link: Annotated[str, Field(max_length=500)] | None = None
    timezone: str = Field(default="UTC", description="IANA timezone the recurring slot is kept in.")
    timezones: dict[str, str] = Field(default_factory=dict, description="Each participant's IANA timezone.")
    local_time: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    weekday: int | None = Field(default=None, ge=0, le=6, description="Monday = 0.")
    duration_minutes: int = Field(default=60, ge=15, le=480)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        cadence_rules.zone(value)
        return value

    @field_validator("timezones")
    @classmethod
    def _known_timezones(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value.values():
            cadence_rules.zone(name)
        return value

    def terms(self) -> AgreementTerms:
        return AgreementTerms(**self.model_dump())


class SignIn(Strict):
    timezone: str | None = Field(default=None, description="The signer's IANA timezone.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            cadence_rules.zone(value)
        return value


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
