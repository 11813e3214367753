"""A mentor as matching sees them: their facts, whether they take mentees now, and the places left.

Profiles announces availability (MentorAvailable / MentorUnavailable, versioned apart from the
facts: both may come at the same profile version). Matching reserves a place when it offers a
mentor (a pair, a proposal or a request) and gives it back when the offer or the pair ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from mentorship_schemas.events import PersonRole
from servicekit.aggregates import Emitted

from matching.domain.candidate import Candidate
from matching.domain.cohort import MatchProfile


class MentorStatus(StrEnum):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"


# MentorUnavailable's reason when the mentor leaves the platform: their pairs end too.
LEFT = "left"


def mentor_key(org_id: str, person_id: str) -> str:
    return f"{org_id}:{person_id}:{PersonRole.MENTOR.value}"


class MentorCandidate(Candidate):
    role: PersonRole = PersonRole.MENTOR
    status: MentorStatus = MentorStatus.UNAVAILABLE
    free_slots: int = 0
    capacity: int | None = None
    unavailable_reason: str | None = None
    availability_version: int = 0

    @classmethod
    def new(cls, org_id: str, person_id: str) -> MentorCandidate:
        """Known by an availability before the facts arrive, or by the facts before any availability."""
        return cls(id=mentor_key(org_id, person_id), org_id=org_id, person_id=person_id)

    @property
    def takes_mentees(self) -> bool:
        return self.status is MentorStatus.AVAILABLE

    def announce_available(self, version: int, capacity: int, free_slots: int) -> list[Emitted]:
        """Profiles' MentorAvailable, unless a newer availability was applied (stale or repeat)."""
        if version <= self.availability_version:
            return []
        self.status, self.free_slots, self.capacity = MentorStatus.AVAILABLE, free_slots, capacity
        self.availability_version = version
        return []

    def announce_unavailable(self, version: int, reason: str) -> list[Emitted]:
        if version <= self.availability_version:
            return []
        self.status, self.free_slots, self.unavailable_reason = MentorStatus.UNAVAILABLE, 0, reason
        self.availability_version = version
        return []

    def reserve_place(self) -> tuple[bool, list[Emitted]]:
        """Take one of the free places for an offer; False (and nothing changes) when there is none."""
        if not self.takes_mentees or self.free_slots <= 0:
            return False, []
        self.free_slots -= 1
        return True, []

    def give_back_place(self) -> list[Emitted]:
        self.free_slots += 1
        return []

    def match_profile_in(self, at: datetime, program_load: int) -> MatchProfile:
        return replace(
            self.match_profile(at),
            accepting_mentees=self.takes_mentees,
            free_capacity=self.free_slots,
            program_load=program_load,
        )
