"""A program admin pairing two people by hand: the hard rules still hold (domain/rules.py); the soft
rules below may be overridden, but only with a stated reason, which the seat's audit keeps."""

from __future__ import annotations

from dataclasses import replace

from matching.domain.cohort import MatchProfile, level_fit, level_rank, timezone_overlap_hours
from matching.domain.programs import MatchingPolicy

# Soft rule -> what it says when a hand-made pair goes against it.
SOFT_RULES: dict[str, str] = {
    "program_capacity": "The mentor already has as many mentees in this program as it allows.",
    "no_wanted_skill": "The mentor offers none of the skills the mentee wants.",
    "no_working_hours_overlap": "Their working hours do not overlap.",
    "level_gap": "The mentor's seniority does not suit this program's type.",
}


def relaxed(policy: MatchingPolicy) -> MatchingPolicy:
    """The policy whose hard rules a hand-made pair must pass: the program's per-mentor limit is a
    soft rule here (the mentor's own capacity stays hard)."""
    return replace(policy, program_mentor_capacity=None)


def soft_concerns(policy: MatchingPolicy, mentee: MatchProfile, mentor: MatchProfile) -> list[str]:
    """The soft rules this pair goes against, by name (see `SOFT_RULES`)."""
    concerns = []
    cap = policy.program_mentor_capacity
    if cap is not None and mentor.program_load >= cap:
        concerns.append("program_capacity")
    if mentee.skills_wanted and not set(mentee.skills_wanted) & set(mentor.skills_offered):
        concerns.append("no_wanted_skill")
    if timezone_overlap_hours(mentee.utc_offset_minutes, mentor.utc_offset_minutes) <= 0:
        concerns.append("no_working_hours_overlap")
    if level_fit(policy.program_type, level_rank(mentor), level_rank(mentee)) <= 0:
        concerns.append("level_gap")
    return concerns
