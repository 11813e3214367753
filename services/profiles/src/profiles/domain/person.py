"""A person in the program, the profiles aggregate: what they tell about themselves, their mentor
settings and load, erasure, and the events each change causes. Pure: times and causes are parameters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from mentorship_schemas import (
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
)
from mentorship_schemas.events import Cadence, Event, PersonRole
from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    computed_field,
    model_validator,
)
from servicekit.aggregates import AggregateRoot, Emitted
from servicekit.ids import derived_id

from profiles.domain.availability import Availability, MentorLoad, transition
from profiles.domain.profile import CommunicationStyle, Modality, OfferedSkill, Seniority, WantedSkill

# What ProfileRegistered and ProfileUpdated carry besides ids and skills (consumers keep copies).
EVENT_FIELDS = frozenset({
    "display_name", "email", "timezone", "locale", "department", "title", "level", "years_experience",
    "manager_id", "languages", "peer_mentoring", "reverse_mentoring", "preferred_cadence", "modalities",
    "communication_style", "roles", "goals", "challenges", "interests", "personality",
})  # fmt: skip
# MentorUnavailable's reason when an available mentor is erased (the others are Availability values).
LEFT_THE_PROGRAM = "left"
# Validation context of the domain's own changes: a bad value is an error there, never "repaired".
_STRICT = {"repair": False}


class ProfileStatus(StrEnum):
    ACTIVE = "active"
    ERASED = "erased"


class InvalidProfile(ValueError):
    """A change that breaks a rule of the profile; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PersonErased(Exception):
    """The person exercised the right to be forgotten: only the anonymous tombstone is left."""


class Boundaries(BaseModel):
    topics_in: list[str] = Field(default_factory=list)
    topics_out: list[str] = Field(default_factory=list)
    longest_cadence: Cadence | None = None


class Inclusion(BaseModel):
    """Consented inclusion attributes: kept only with consent, sent only on the restricted topic."""

    consented: bool
    attributes: dict[str, str] = Field(default_factory=dict)


def person_key(org_id: str, person_id: str) -> str:
    """A person's aggregate id: employee ids are unique within an org only."""
    return f"{org_id}:{person_id}"


class Person(AggregateRoot):
    """One document per person and org. Mentor load is the set of pairs it is in (PairCreated /
    PairEnded), so a redelivered or late event counts once."""

    person_id: str
    status: ProfileStatus = ProfileStatus.ACTIVE
    display_name: str
    email: str
    title: str | None = None
    department: str | None = None
    level: Seniority | None = None
    years_experience: int | None = None
    manager_id: str | None = None
    location: str | None = None
    timezone: str = "UTC"
    languages: list[str] = Field(default_factory=list)
    locale: str = "en"
    roles: list[PersonRole]  # empty only in a tombstone
    peer_mentoring: bool = False
    reverse_mentoring: bool = False
    skills_offered: list[OfferedSkill] = Field(default_factory=list)
    skills_wanted: list[WantedSkill] = Field(default_factory=list)
    goals: str | None = None
    challenges: str | None = None
    interests: list[str] = Field(default_factory=list)
    communication_style: CommunicationStyle | None = None
    personality: dict[str, str] = Field(default_factory=dict)
    mentor_capacity: int = 0
    accepting_mentees: bool = True
    boundaries: Boundaries = Field(default_factory=Boundaries)
    preferred_cadence: Cadence | None = None
    modalities: list[Modality] = Field(default_factory=list)
    inclusion: Inclusion | None = None
    active_pair_ids: list[str] = Field(default_factory=list)
    ended_pair_ids: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    erased_at: datetime | None = None

    _repaired: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _repair_stored(
        cls, data: Any, handler: ModelWrapValidatorHandler[Person], info: ValidationInfo
    ) -> Person:
        """A stored document with a bad value in a field that has a default loads with the default
        (so one broken document never breaks a whole org's list); the names are kept for the log."""
        try:
            return handler(data)
        except ValidationError as error:
            if not isinstance(data, dict) or (info.context or {}).get("repair", True) is False:
                raise
            broken = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
            fields = cls.model_fields
            if not broken or any(name not in fields or fields[name].is_required() for name in broken):
                raise
            person = handler({key: value for key, value in data.items() if key not in broken})
            person._repaired = tuple(sorted(broken))
            return person

    @property
    def repaired_fields(self) -> tuple[str, ...]:
        """Fields whose stored value was unusable and was replaced by its default on load."""
        return self._repaired

    # Stored (not read back) so searches can filter on them.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def availability(self) -> Availability:
        return self.load.availability

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skill_names(self) -> list[str]:
        offered = [skill.name.lower() for skill in self.skills_offered]
        return offered + [skill.name.lower() for skill in self.skills_wanted]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def search_text(self) -> str:
        parts = (self.display_name, self.title, self.department, *self.skill_names)
        return " ".join(str(part).lower() for part in parts if part)

    @property
    def load(self) -> MentorLoad:
        return MentorLoad(
            is_mentor=PersonRole.MENTOR in self.roles,
            accepting=self.accepting_mentees,
            capacity=self.mentor_capacity,
            active_mentees=len(self.active_pair_ids),
        )

    @property
    def is_erased(self) -> bool:
        return self.status is ProfileStatus.ERASED

    # ------------------------------------------------------------------ changes

    @classmethod
    def register(
        cls, org_id: str, person_id: str, values: Mapping[str, Any], now: datetime
    ) -> tuple[Person, list[Emitted]]:
        """A new person from validated `values` (stored forms; absent fields take their defaults)."""
        facts = {key: value for key, value in values.items() if key != "inclusion"}
        person = cls.model_validate(
            {**facts, "_id": person_key(org_id, person_id), "org_id": org_id, "person_id": person_id,
             "created_at": now, "updated_at": now},
            context=_STRICT,
        )  # fmt: skip
        person._check_mentor_capacity(facts)
        emitted = [person._emit(person._facts(ProfileRegistered))]
        emitted += person._announce(None)
        emitted += person._consent(values.get("inclusion"))
        person.version += 1
        return person, emitted

    def revise(self, values: Mapping[str, Any], now: datetime) -> tuple[list[str], list[Emitted]]:
        """Apply the fields in `values`; returns the names of those that changed and the events."""
        if self.is_erased:
            raise PersonErased(self.person_id)
        facts = {key: value for key, value in values.items() if key != "inclusion"}
        revised = self.model_validate({**self.to_document(), **facts}, context=_STRICT)
        changed = sorted(name for name in facts if getattr(revised, name) != getattr(self, name))
        revised._check_mentor_capacity(facts)
        before = self.load
        for name in changed:
            setattr(self, name, getattr(revised, name))
        emitted = [self._emit(self._facts(ProfileUpdated, changed_fields=changed))] if changed else []
        emitted += self._announce(before)
        consent = self._consent(values.get("inclusion"))
        if changed or consent:
            self.updated_at = now
        return changed + (["inclusion"] if consent else []), emitted + consent

    def start_pair(self, pair_id: str, cause_id: str) -> list[Emitted]:
        """PairCreated: one more mentee, unless this pair was counted (or has ended) already."""
        if self.is_erased or pair_id in self.active_pair_ids or pair_id in self.ended_pair_ids:
            return []
        before = self.load
        self.active_pair_ids = [*self.active_pair_ids, pair_id]
        return self._announce(before, derived_id(cause_id, "availability"))

    def end_pair(self, pair_id: str, cause_id: str) -> list[Emitted]:
        """PairEnded: the place is free; remembered even before its PairCreated arrives."""
        if self.is_erased or pair_id in self.ended_pair_ids:
            return []
        before = self.load
        self.ended_pair_ids = [*self.ended_pair_ids, pair_id]
        self.active_pair_ids = [p for p in self.active_pair_ids if p != pair_id]
        return self._announce(before, derived_id(cause_id, "availability"))

    def erase(self, now: datetime) -> list[Emitted]:
        """Leave an anonymous tombstone (it keeps the ids, so the person cannot come back by import)."""
        if self.is_erased:
            return []
        emitted = [self._emit(ProfileErased(**self._ids(), erased_at=now))]
        if self.load.availability is Availability.AVAILABLE:
            emitted.append(self._emit(MentorUnavailable(**self._ids(), reason=LEFT_THE_PROGRAM)))
        tombstone = Person(
            id=self.id, org_id=self.org_id, person_id=self.person_id, version=self.version,
            status=ProfileStatus.ERASED, display_name="",
            # The (org, email) index is unique: a placeholder that says nothing about the person.
            email=f"erased:{self.id}", roles=[], accepting_mentees=False, erased_at=now,
        )  # fmt: skip
        for name in type(self).model_fields:
            setattr(self, name, getattr(tombstone, name))
        return emitted

    # ------------------------------------------------------------------ rules and events

    def _check_mentor_capacity(self, sent: Mapping[str, Any]) -> None:
        if sent.get("mentor_capacity") and PersonRole.MENTOR not in self.roles:
            raise InvalidProfile(
                "mentor_capacity",
                "Only mentors have a mentor capacity: add the mentor role, or leave mentor_capacity out.",
            )

    def _ids(self) -> dict[str, Any]:
        """What every event of this person carries: tenant, the version it leads to, the person."""
        return {"org_id": self.org_id, "version": self.version + 1, "person_id": self.person_id}

    def _emit(self, event: Event, event_id: str | None = None) -> Emitted:
        # Each version is written once, so (person, version, type) names one effect.
        return Emitted(event, event_id or derived_id(self.id, str(event.version), type(event).__name__))

    def _facts(
        self, event_type: type[ProfileRegistered] | type[ProfileUpdated], **extra: Any
    ) -> ProfileRegistered | ProfileUpdated:
        return event_type(
            **self._ids(),
            **self.model_dump(mode="json", include=set(EVENT_FIELDS)),
            skills_offered=[skill.name for skill in self.skills_offered],
            skills_wanted=[skill.name for skill in self.skills_wanted],
            skill_levels={skill.name: skill.level.value for skill in self.skills_offered},
            can_help_with=list(self.boundaries.topics_in),
            **extra,
        )

    def _announce(self, before: MentorLoad | None, event_id: str | None = None) -> list[Emitted]:
        """MentorAvailable / MentorUnavailable when the availability changed (never twice)."""
        announced = transition(before, self.load)
        if announced is None:
            return []
        event: Event = (
            MentorAvailable(
                **self._ids(), capacity=self.mentor_capacity, active_mentees=len(self.active_pair_ids)
            )
            if announced is Availability.AVAILABLE
            else MentorUnavailable(**self._ids(), reason=announced.value)
        )
        return [self._emit(event, event_id)]

    def _consent(self, given: Any) -> list[Emitted]:
        """Inclusion attributes are stored only with consent; withdrawing consent forgets them."""
        if given is None:
            return []
        inclusion = Inclusion.model_validate(given)
        kept = inclusion if inclusion.consented else None
        if kept == self.inclusion:
            return []
        self.inclusion = kept
        attributes = dict(inclusion.attributes) if inclusion.consented else {}
        event = InclusionAttributesChanged(
            **self._ids(), consented=inclusion.consented, attributes=attributes
        )
        return [self._emit(event)]
