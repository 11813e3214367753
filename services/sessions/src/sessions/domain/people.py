"""Our copy of the people in relationships, fed by profile events: what sessions needs to draft an
agreement (timezone, preferred cadence and modalities) and to address people (name, email).
A tombstone stays once a person is erased, so a late or repeated profile event cannot bring them back.
"""

from __future__ import annotations

from mentorship_schemas import ProfileRegistered, ProfileUpdated
from mentorship_schemas.events import Cadence
from pydantic import BaseModel, ConfigDict

from sessions.domain.cadence import UnknownTimezone, zone

FORMER_PARTICIPANT = "A former participant"


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    org_id: str
    person_id: str
    display_name: str | None = None
    email: str | None = None
    timezone: str | None = None  # None: not known (no profile event yet, or erased)
    locale: str | None = None
    preferred_cadence: Cadence | None = None
    modalities: tuple[str, ...] = ()
    profile_version: int = 0  # the newest profile event applied
    erased: bool = False

    @classmethod
    def of_profile(cls, event: ProfileRegistered | ProfileUpdated) -> Person:
        return cls(
            org_id=event.org_id,
            person_id=event.person_id,
            display_name=event.display_name,
            email=event.email or None,
            timezone=_known_timezone(event.timezone),
            locale=event.locale,
            preferred_cadence=_cadence(event.preferred_cadence),
            modalities=tuple(event.modalities),
            profile_version=event.version,
        )

    @classmethod
    def tombstone(cls, org_id: str, person_id: str) -> Person:
        """What stays of an erased person: that they were erased, nothing else."""
        return cls(org_id=org_id, person_id=person_id, erased=True)

    def newer_than(self, stored: Person | None) -> bool:
        """This copy replaces `stored`: a newer profile version, and never over a tombstone."""
        if stored is None:
            return True
        if stored.erased:
            return False
        return self.erased or self.profile_version > stored.profile_version

    @property
    def name(self) -> str:
        """How to call the person in words."""
        if self.erased:
            return FORMER_PARTICIPANT
        return self.display_name or self.person_id


def _known_timezone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        zone(name)
    except UnknownTimezone:
        return None
    return name


def _cadence(value: str | None) -> Cadence | None:
    try:
        return Cadence(value) if value else None
    except ValueError:
        return None
