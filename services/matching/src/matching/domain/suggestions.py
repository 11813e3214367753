"""Ranked suggestions for one mentee: every eligible mentor scored and explained by the same engine
as a cohort run, best first (the mentee-initiated flow, and the next suggestion after a request
expires)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from matching.domain.cohort import MatchProfile, encode_cohort
from matching.domain.compatibility import (
    Explanation,
    allowed_block,
    block_scores,
    contribution_tables,
    explain_pairs,
)
from matching.domain.programs import MatchingPolicy
from matching.domain.rules import FOR_ONE_MENTOR, Rule
from matching.domain.semantic_goals import SemanticGoals


def rank_mentors(
    policy: MatchingPolicy,
    mentee: MatchProfile,
    mentors: list[MatchProfile],
    *,
    managers: Mapping[str, str] | None = None,
    excluded_mentors: Iterable[str] = (),
    limit: int = 10,
    goals: SemanticGoals | None = None,
) -> list[Explanation]:
    """The mentee's best `limit` mentors that pass every hard rule, with their explanations.

    `excluded_mentors` are never suggested (previous mentors on a rematch, mentors who declined or
    let a request expire). Ties are broken by mentor id, so the order is reproducible."""
    previous = [(mentee.person_id, mentor_id) for mentor_id in excluded_mentors]
    cohort = encode_cohort(policy, [mentee], mentors, managers=managers, previous_pairs=previous)
    if goals is not None:
        cohort = goals.applied_to(cohort)
    if cohort.mentee_count == 0 or cohort.mentor_count == 0 or limit <= 0:
        return []
    tables = contribution_tables(cohort)
    row = np.zeros(1, dtype=np.int64)
    scores = block_scores(cohort, tables, row)[0]
    allowed = np.flatnonzero(allowed_block(cohort, row)[0])
    ranked = sorted(allowed.tolist(), key=lambda j: (-int(scores[j]), cohort.mentors[j].person_id))[:limit]
    if not ranked:
        return []
    chosen = np.asarray(ranked, dtype=np.int64)
    mentee_rows = np.zeros(len(chosen), dtype=np.int64)
    return explain_pairs(cohort, tables, mentee_rows, chosen, goals.reason() if goals else None)


def why_not(
    policy: MatchingPolicy,
    mentee: MatchProfile,
    mentor: MatchProfile,
    *,
    managers: Mapping[str, str] | None = None,
    excluded_mentors: Iterable[str] = (),
) -> str | None:
    """Why this mentor cannot be matched with this mentee, as a sentence to the mentee naming the
    rule, or None when they can."""
    if mentor.person_id == mentee.person_id:
        return FOR_ONE_MENTOR[Rule.SELF]
    if mentor.person_id in set(excluded_mentors):
        return FOR_ONE_MENTOR[Rule.PREVIOUS]
    previous = [(mentee.person_id, m) for m in excluded_mentors]
    cohort = encode_cohort(policy, [mentee], [mentor], managers=managers, previous_pairs=previous)
    if mentee.person_id in cohort.excluded and not cohort.mentees:
        return FOR_ONE_MENTOR[cohort.excluded[mentee.person_id]]
    if mentor.person_id in cohort.excluded:
        return FOR_ONE_MENTOR[cohort.excluded[mentor.person_id]]
    row = np.zeros(1, dtype=np.int64)
    if not bool(allowed_block(cohort, row)[0, 0]):
        has_forbidden = len(cohort.forbidden_mentee) > 0
        return FOR_ONE_MENTOR[Rule.REPORTING_LINE if has_forbidden else Rule.LANGUAGE]
    return None
