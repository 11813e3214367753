"""Learned weights change scores only: whatever weights are adopted, the engine keeps every hard rule
and a program's fairness floor, and its solution stays certified optimal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.domain.adopted_weights import adopt
from matching.domain.cohort import MatchProfile
from matching.domain.cohort_run import run_cohort
from matching.domain.fairness import GroupFloor
from matching.domain.programs import COMPONENTS, DEFAULT_WEIGHTS, MatchingPolicy

from tests.matching.test_compatibility import ORG, cohorts, reporting_line
from tests.matching.test_weight_learning import NOW, synthetic_outcomes

pytestmark = pytest.mark.fast


def learned_weights() -> dict[str, float]:
    """Weights actually learned and adopted (they lean on goals, level gap and timezone)."""
    from matching.domain.weight_learning import propose_weights

    proposal = propose_weights(synthetic_outcomes(600, seed=21), DEFAULT_WEIGHTS, NOW, draws=200)
    adopted = adopt(
        None, proposal, weights_in_force=DEFAULT_WEIGHTS, author="admin", at=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert adopted.weights["goals"] > DEFAULT_WEIGHTS["goals"]
    return adopted.weights


def test_the_best_scoring_mentors_under_learned_weights_stay_forbidden_when_a_rule_says_so() -> None:
    weights = learned_weights()
    goals = "grow into a staff engineer leading platform reliability"
    mentee = MatchProfile("e", ORG, level="mid", goals=goals, manager_id="boss", languages=("en",))
    twin = {"level": "senior", "experience": goals, "free_capacity": 2}
    boss = MatchProfile("boss", ORG, languages=("en",), **twin)  # type: ignore[arg-type]
    before = MatchProfile("before", ORG, languages=("en",), **twin)  # type: ignore[arg-type]
    foreign = MatchProfile("foreign", ORG, languages=("ja",), **twin)  # type: ignore[arg-type]
    weak = MatchProfile(
        "weak", ORG, level="principal", experience="sales", languages=("en",), free_capacity=1
    )
    policy = MatchingPolicy(org_id=ORG, weights=weights)
    result = run_cohort(policy, [mentee], [boss, before, foreign, weak], previous_pairs=[("e", "before")])
    assert [(p.mentee_id, p.mentor_id) for p in result.pairs] == [("e", "weak")]
    assert result.optimal
    # Without the rules the learned weights would have chosen a forbidden mentor.
    free = run_cohort(
        replace(policy, rules=replace(policy.rules, exclude_reporting_line=False)), [mentee], [boss, weak]
    )
    assert [p.mentor_id for p in free.pairs] == ["boss"]


@settings(max_examples=80, deadline=None)
@given(cohorts(), st.lists(st.floats(0.0, 1.0), min_size=len(COMPONENTS), max_size=len(COMPONENTS)))
def test_no_weighting_makes_the_engine_break_a_hard_rule(cohort: tuple, raw: list[float]) -> None:
    policy, mentees, mentors, managers, previous = cohort
    weights = dict(zip(COMPONENTS, raw, strict=True))
    if sum(weights.values()) <= 0:
        weights["goals"] = 1.0
    policy = replace(policy, weights=weights)
    result = run_cohort(
        policy, mentees, mentors, managers=managers, previous_pairs=previous, shortlist_size=2
    )
    by_id = {p.person_id: p for p in mentees + mentors}
    load: dict[str, int] = {}
    for pair in result.pairs:
        mentee, mentor = by_id[pair.mentee_id], by_id[pair.mentor_id]
        assert mentee.org_id == mentor.org_id == ORG
        assert mentor.person_id not in reporting_line(mentee.person_id, managers)
        assert mentee.person_id not in reporting_line(mentor.person_id, managers)
        assert (mentee.person_id, mentor.person_id) not in previous
        assert mentor.accepting_mentees
        if policy.rules.require_shared_language and mentee.languages and mentor.languages:
            assert set(mentee.languages) & set(mentor.languages)
        load[mentor.person_id] = load.get(mentor.person_id, 0) + 1
    for mentor_id, taken in load.items():
        assert taken <= by_id[mentor_id].free_capacity
    assert result.optimal


def test_a_fairness_floor_holds_under_learned_weights() -> None:
    weights = learned_weights()
    experience = "grow into a staff engineer leading platform reliability"
    # Two places; the group's members fit worse under the learned weights than the others.
    group = [MatchProfile(f"g{k}", ORG, level="principal", goals="pottery") for k in range(2)]
    others = [MatchProfile(f"o{k}", ORG, level="mid", goals=experience) for k in range(3)]
    mentors = [MatchProfile("m", ORG, level="senior", experience=experience, free_capacity=2)]
    policy = MatchingPolicy(org_id=ORG, weights=weights)
    free = run_cohort(policy, group + others, mentors)
    assert not {p.mentee_id for p in free.pairs} & {"g0", "g1"}
    floor = GroupFloor(frozenset({"g0", "g1"}), min_match_rate=0.5)
    fair = run_cohort(policy, group + others, mentors, group_floor=floor)
    assert len({p.mentee_id for p in fair.pairs} & {"g0", "g1"}) >= 1
    assert fair.fairness["group_match_rate"] >= 0.5
    assert fair.optimal
