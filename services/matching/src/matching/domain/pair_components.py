"""The value in [0, 1] of each compatibility component for one pair, from the engine's own code, so that
weights learned on them (domain/weight_learning.py) mean what the engine's weights mean."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matching.domain.cohort import MatchProfile, encode_cohort
from matching.domain.compatibility import component_values
from matching.domain.programs import MatchingPolicy, ProgramType
from matching.domain.semantic_goals import SemanticGoals


def pair_components(
    program_type: ProgramType, mentee: MatchProfile, mentor: MatchProfile, goals: SemanticGoals | None = None
) -> dict[str, float]:
    """Each component's value for this pair, weights left out, in a cohort of the two alone: for a
    pair no engine run valued (`component_values` does it for the pairs of a run, in their run).

    The pair exists already, so the rules that decide who may be paired now (capacity, opt-ins, the
    reporting line) are not asked again."""
    policy = MatchingPolicy(org_id=mentee.org_id, program_type=program_type)
    mentee = replace(mentee, peer_mentoring=True, reverse_mentoring=True)
    mentor = replace(
        mentor,
        org_id=mentee.org_id,
        accepting_mentees=True,
        free_capacity=1,
        program_load=0,
        peer_mentoring=True,
        reverse_mentoring=True,
    )
    cohort = encode_cohort(policy, [mentee], [mentor])
    if goals is not None:
        cohort = goals.applied_to(cohort)
    one = np.zeros(1, dtype=np.int64)
    return component_values(cohort, one, one)[0]
