"""What matching knows of a person (the facts profiles announces: no email, and of free text only
what matching scores), shared by a mentee's seats and a mentor's candidate record, and how those
facts become a `MatchProfile`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from servicekit.aggregates import AggregateRoot, Emitted

from matching.domain.cohort import MatchProfile
from matching.domain.personality import personality_vector

# What a person's id becomes once they are erased (their pairs are kept, anonymously).
ERASED = "erased"
# A person's first profile version, ProfileRegistered's: nothing of theirs is stored before it,
# unless the registration itself was handled already (a redelivery).
FIRST_PROFILE_VERSION = 1


class ProfileFacts(BaseModel):
    """What matching scores, rules on and shows, as announced by ProfileRegistered / ProfileUpdated."""

    # Shown to a mentee choosing among suggestions (name and title only; never the email).
    display_name: str | None = None
    title: str | None = None
    department: str | None = None
    skills_offered: tuple[str, ...] = ()
    skills_wanted: tuple[str, ...] = ()
    level: str | None = None
    years_experience: int | None = None
    manager_id: str | None = None
    languages: tuple[str, ...] = ()
    timezone: str | None = None
    skill_levels: dict[str, str] = {}
    modalities: tuple[str, ...] = ()
    communication_style: str | None = None
    peer_mentoring: bool = False
    reverse_mentoring: bool = False
    # Scored: a mentee's goals and challenges against a mentor's goals, topics and offered skills.
    goals: str | None = None
    challenges: str | None = None
    interests: tuple[str, ...] = ()
    can_help_with: tuple[str, ...] = ()
    personality: dict[str, str] = {}

    def goals_text(self) -> str:
        """What the person wants from mentoring, as a mentee: goals, then challenges."""
        return "\n".join(text for text in (self.goals, self.challenges) if text)

    def experience_text(self) -> str:
        """What the person can offer, as a mentor: the topics they help with, their offered skills
        and their own goals."""
        parts = [", ".join(self.can_help_with), ", ".join(self.skills_offered), self.goals or ""]
        return "\n".join(part for part in parts if part)


# Erasure keeps no fact that could point at the person.
ANONYMOUS_FACTS: dict[str, Any] = ProfileFacts().model_dump()


class Candidate(AggregateRoot, ProfileFacts):
    """A person in one role: the facts, and the profile version they came with (newer wins)."""

    person_id: str
    profile_version: int = 0

    def update_facts(self, facts: ProfileFacts, profile_version: int) -> list[Emitted]:
        """Take newer facts; an older or repeated profile version changes nothing."""
        if profile_version > self.profile_version:
            for name in ProfileFacts.model_fields:
                setattr(self, name, getattr(facts, name))
            self.profile_version = profile_version
        return []

    def facts(self) -> ProfileFacts:
        return ProfileFacts.model_validate(self.model_dump(include=set(ProfileFacts.model_fields)))

    def match_profile(
        self,
        at: datetime,
        *,
        skills_wanted: tuple[str, ...] | None = None,
        accepting_mentees: bool = True,
        free_capacity: int = 0,
        program_load: int = 0,
    ) -> MatchProfile:
        """The facts as the engine sees them at `at`; the rest (whether and how much the person
        takes mentees now) is the caller's to say."""
        return MatchProfile(
            person_id=self.person_id,
            org_id=self.org_id,
            department=self.department,
            level=self.level,
            years_experience=self.years_experience,
            manager_id=self.manager_id,
            languages=tuple(self.languages),
            utc_offset_minutes=utc_offset_minutes(self.timezone, at),
            skills_offered=tuple(self.skills_offered),
            skills_wanted=tuple(self.skills_wanted) if skills_wanted is None else skills_wanted,
            skill_levels=dict(self.skill_levels),
            communication_style=self.communication_style,
            modalities=tuple(self.modalities),
            goals=self.goals_text(),
            experience=self.experience_text(),
            personality=personality_vector(self.personality),
            peer_mentoring=self.peer_mentoring,
            reverse_mentoring=self.reverse_mentoring,
            accepting_mentees=accepting_mentees,
            free_capacity=free_capacity,
            program_load=program_load,
        )


def utc_offset_minutes(timezone: str | None, at: datetime) -> int:
    """The zone's offset at that time (unknown zones count as UTC)."""
    try:
        offset = at.astimezone(ZoneInfo(timezone or "UTC")).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds() // 60) if offset else 0
