"""Fairness as a solver constraint: a consented group's minimum match rate holds in the result."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.domain.assignment import MICRO, Capacities, Shortlist, solve_flow
from matching.domain.cohort import MatchProfile
from matching.domain.cohort_run import run_cohort
from matching.domain.fairness import GroupFloor, solve_with_group_floor
from matching.domain.programs import MatchingPolicy

pytestmark = pytest.mark.fast  # the engine alone: no server

ORG = "org-1"


def all_arcs(scores: np.ndarray, allowed: np.ndarray) -> Shortlist:
    mentee, mentor = np.nonzero(allowed)
    return Shortlist(
        mentee.astype(np.int64),
        mentor.astype(np.int64),
        scores[mentee, mentor].astype(np.int64),
        np.full(scores.shape[0], -1),
        allowed.sum(axis=1),
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 0.75, 1.0]), st.sampled_from([None, 0.5, 0.75]))
def test_group_floor_holds_or_is_reported_infeasible(seed: int, rate: float, average: float | None) -> None:
    rng = np.random.default_rng(seed)
    mentees, mentors = int(rng.integers(2, 9)), int(rng.integers(1, 4))
    scores = rng.integers(0, 5, (mentees, mentors)) * (MICRO // 4)
    allowed = rng.random((mentees, mentors)) < 0.7
    capacities = Capacities(rng.integers(1, 3, mentors), np.zeros(mentors, dtype=np.int64), 10_000)
    members = rng.random(mentees) < 0.4
    candidates = all_arcs(scores, allowed)
    floor = GroupFloor(frozenset(), rate, min_average_score=average, time_limit_seconds=10)
    solution, optimal, how, figures = solve_with_group_floor(mentees, capacities, candidates, members, floor)
    if how.startswith("infeasible"):
        return
    assert optimal
    assert figures["group_matched"] >= figures["required"] >= rate * members.sum() - 1e-9
    if average is not None and figures["group_matched"]:
        assert figures["group_average_score"] >= average - 1e-9
    assert allowed[solution.mentee, solution.mentor].all()
    assert (solution.mentor_load(mentors) <= capacities.capacity).all()
    unconstrained = solve_flow(mentees, capacities, candidates.mentee, candidates.mentor, candidates.score)
    # A constraint can only cost: never more matched or a better objective than without it.
    assert (solution.matched, solution.objective) <= (unconstrained.matched, unconstrained.objective)
    if rate == 0.0 and average is None:
        assert (solution.matched, solution.objective) == (unconstrained.matched, unconstrained.objective)


def test_binding_floor_moves_a_place_to_the_group_and_impossible_floor_is_reported() -> None:
    # One mentor, one place: the non-member fits better, the floor gives the place to the member.
    member = MatchProfile("g", ORG, skills_wanted=("go",))
    other = MatchProfile("o", ORG, skills_wanted=("python",))
    mentor = MatchProfile("m", ORG, skills_offered=("python",), free_capacity=1)
    policy = MatchingPolicy(org_id=ORG)
    free = run_cohort(policy, [member, other], [mentor])
    assert [p.mentee_id for p in free.pairs] == ["o"]
    fair = run_cohort(policy, [member, other], [mentor], group_floor=GroupFloor(frozenset({"g"}), 1.0))
    assert [p.mentee_id for p in fair.pairs] == ["g"]
    assert fair.fairness["group_match_rate"] == 1.0
    assert fair.optimal
    impossible = run_cohort(
        policy, [member, other], [mentor], group_floor=GroupFloor(frozenset({"g", "o"}), 1.0)
    )
    assert not impossible.optimal
    assert impossible.optimality.startswith("infeasible")
