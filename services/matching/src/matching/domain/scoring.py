"""Compatibility for the continuous flow: the simplest explainable score. The full engine (weights,
hard rules, optimal assignment) replaces this in the matching issue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MenteeCandidate:
    person_id: str
    department: str | None
    skills_wanted: frozenset[str]


@dataclass(frozen=True)
class MentorCandidate:
    person_id: str
    department: str | None
    skills_offered: frozenset[str]
    free_slots: int


@dataclass(frozen=True)
class Suggestion:
    mentor_id: str
    score: float
    reasons: tuple[str, ...]


def score(mentee: MenteeCandidate, mentor: MentorCandidate) -> Suggestion:
    """Share of the mentee's wanted skills the mentor offers (0.5 when the mentee named none),
    with a small bonus for crossing departments (broader network)."""
    shared = mentee.skills_wanted & mentor.skills_offered
    coverage = len(shared) / len(mentee.skills_wanted) if mentee.skills_wanted else 0.5
    cross_department = bool(
        mentee.department and mentor.department and mentee.department != mentor.department
    )
    value = min(1.0, 0.9 * coverage + (0.1 if cross_department else 0.0))
    reasons = []
    if shared:
        reasons.append("offers " + ", ".join(sorted(shared)))
    if cross_department:
        reasons.append("from another department")
    return Suggestion(mentor.person_id, round(value, 6), tuple(reasons))


def rank_mentors(mentee: MenteeCandidate, mentors: list[MentorCandidate]) -> list[Suggestion]:
    """Eligible mentors, best first (ties: more free slots, then id, so the order is stable)."""
    eligible = [m for m in mentors if m.person_id != mentee.person_id and m.free_slots > 0]
    scored = [(score(mentee, m), m) for m in eligible]
    scored.sort(key=lambda pair: (-pair[0].score, -pair[1].free_slots, pair[1].person_id))
    return [suggestion for suggestion, _ in scored]
