"""The mentorship agreement: its terms, how a change applies to them (PATCH keeps what it does not
name, PUT starts again from what was pre-filled), who has signed which revision, and the recurring
slot the last signature fixes."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mentorship_schemas.events import Cadence
from pydantic import BaseModel, ConfigDict, Field


class AgreementTerms(BaseModel):
    """What the members may set on a draft agreement."""

    model_config = ConfigDict(frozen=True)

    goals: list[str] = Field(default_factory=list)
    roles: dict[str, str] = Field(default_factory=dict)
    cadence: Cadence
    ends_on: datetime | None = None
    starts_on: datetime | None = None
    boundaries: str | None = None
    channel: str | None = None
    modality: str | None = None
    meeting_link: str | None = None
    timezone: str  # the recurring slot's timezone
    timezones: dict[str, str] = Field(default_factory=dict)  # each participant's own
    local_time: str  # HH:MM, wall-clock in `timezone`
    weekday: int | None = None  # Monday = 0
    duration_minutes: int


TERM_FIELDS = frozenset(AgreementTerms.model_fields)


@dataclass(frozen=True)
class AgreementChange:
    """The fields a member sent. A PATCH (`replace=False`) keeps every field it does not name and
    merges `roles` key by key (a null value removes a role); a PUT (`replace=True`) replaces the
    terms: a field it leaves out takes the value pre-filled when the pair was drafted (so a PUT of
    one field never wipes the roles). Either way `timezones` merge into the known ones: they are
    facts about people, not terms to forget."""

    values: Mapping[str, Any]  # term name -> value, only the terms sent
    replace: bool = False

    @classmethod
    def of_terms(cls, terms: AgreementTerms) -> AgreementChange:
        """Every field given: exactly these terms."""
        return cls(dict(terms), replace=True)

    def applied_to(self, current: AgreementTerms, prefilled: AgreementTerms | None) -> AgreementTerms:
        base = (prefilled or current) if self.replace else current
        updates = {name: value for name, value in self.values.items() if name in TERM_FIELDS}
        if "roles" in updates:
            updates["roles"] = _merged({} if self.replace else base.roles, updates["roles"])
        updates["timezones"] = _merged(current.timezones, updates.get("timezones") or {})
        return base.model_copy(update=updates)


def _merged(known: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    merged = dict(known)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class Series(BaseModel):
    """The signed agreement's recurring slot: occurrence n is computed from the first one."""

    first_local: str  # naive ISO wall-clock start of occurrence 0
    timezone: str
    revision: int


class Agreement(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    revision: int = 1
    drafted_at: datetime
    goals: list[str] = Field(default_factory=list)
    roles: dict[str, str] = Field(default_factory=dict)
    cadence: Cadence
    duration_minutes: int
    ends_on: datetime | None = None
    starts_on: datetime | None = None
    boundaries: str | None = None
    channel: str | None = None
    modality: str | None = None
    meeting_link: str | None = None
    timezone: str
    timezones: dict[str, str] = Field(default_factory=dict)
    local_time: str
    weekday: int | None = None
    signatures: dict[str, datetime] = Field(default_factory=dict)
    signed_at: datetime | None = None
    series: Series | None = None
    prefilled: AgreementTerms | None = None  # as drafted from the pairing and the people's profiles

    @classmethod
    def drafted(cls, terms: AgreementTerms, at: datetime) -> Agreement:
        return cls(drafted_at=at, prefilled=terms, **dict(terms))

    def terms(self) -> AgreementTerms:
        return AgreementTerms.model_validate({name: getattr(self, name) for name in TERM_FIELDS})

    def set_terms(self, terms: AgreementTerms) -> bool:
        """A redraft: a new revision, and every signature so far is void. Changing nothing is no
        redraft (False), so nobody's signature is voided by it."""
        if terms == self.terms():
            return False
        for name in TERM_FIELDS:
            setattr(self, name, copy.deepcopy(getattr(terms, name)))
        self.revision += 1
        self.signatures = {}
        return True

    def awaiting(self, participant_ids: Sequence[str]) -> list[str]:
        """The participants whose signature this revision still needs, in their order."""
        return [person for person in participant_ids if person not in self.signatures]

    def forget(self, person_id: str) -> None:
        """A member left: their role, timezone and signature are no longer part of it."""
        for known in (self.roles, self.timezones, self.signatures):
            known.pop(person_id, None)
        if self.prefilled is not None:
            self.prefilled = self.prefilled.model_copy(
                update={
                    "roles": {p: r for p, r in self.prefilled.roles.items() if p != person_id},
                    "timezones": {p: t for p, t in self.prefilled.timezones.items() if p != person_id},
                }
            )
