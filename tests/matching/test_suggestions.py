"""Ranked suggestions for one mentee: only mentors every hard rule allows, best first, each
explained, and the same scores a cohort run would use."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.domain.cohort import MatchProfile
from matching.domain.cohort_run import run_cohort
from matching.domain.programs import MatchingPolicy
from matching.domain.suggestions import rank_mentors, why_not

from tests.matching.test_compatibility import ORG, cohorts, person, reporting_line

pytestmark = pytest.mark.fast  # the engine alone: no server


@settings(max_examples=150, deadline=None)
@given(cohorts(), st.data())
def test_suggestions_obey_the_hard_rules_and_are_ranked_and_explained(
    cohort: tuple[MatchingPolicy, list[MatchProfile], list[MatchProfile], dict[str, str], list],
    data: st.DataObject,
) -> None:
    policy, mentees, mentors, managers, _ = cohort
    mentee = mentees[0]
    excluded = data.draw(st.lists(st.sampled_from([m.person_id for m in mentors]), unique=True))
    ranked = rank_mentors(
        policy, mentee, mentors, managers=managers, excluded_mentors=excluded, limit=len(mentors)
    )
    by_id = {m.person_id: m for m in mentors}
    scores = [s.score for s in ranked]
    assert scores == sorted(scores, reverse=True)
    allowed = set()
    for mentor in mentors:
        reason = why_not(policy, mentee, mentor, managers=managers, excluded_mentors=excluded)
        if reason is None:
            allowed.add(mentor.person_id)
    # Exactly the mentors `why_not` finds no reason against are suggested.
    assert {s.mentor_id for s in ranked} == allowed
    for suggestion in ranked:
        mentor = by_id[suggestion.mentor_id]
        assert suggestion.mentor_id not in excluded
        assert suggestion.mentor_id not in reporting_line(mentee.person_id, managers)
        assert mentor.org_id == mentee.org_id == ORG
        assert mentor.accepting_mentees
        assert mentor.free_capacity > 0
        assert abs(sum(suggestion.breakdown.values()) - suggestion.score) < 1e-9
    # One mentee's cohort run (no load penalty) reaches exactly the top suggestion's score.
    plain = replace(policy, load_spread_penalty=0.0)
    top = rank_mentors(plain, mentee, mentors, managers=managers, excluded_mentors=excluded, limit=1)
    previous = [(mentee.person_id, m) for m in excluded]
    result = run_cohort(plain, [mentee], mentors, managers=managers, previous_pairs=previous)
    assert [p.score for p in result.pairs] == [s.score for s in top]


def test_why_not_names_the_rule() -> None:
    policy = MatchingPolicy(org_id=ORG)
    mentee = person("ada", languages=("en",), manager_id="mira")
    assert why_not(policy, mentee, person("mira", languages=("en",), free_capacity=1)) is not None
    assert "reporting line" in (
        why_not(policy, mentee, person("mira", languages=("en",), free_capacity=1), managers={"ada": "mira"})
        or ""
    )
    assert "language" in (why_not(policy, mentee, person("sam", languages=("de",), free_capacity=1)) or "")
    assert why_not(policy, mentee, person("sam", languages=("en",), free_capacity=0)) == (
        "This mentor has no free place now."
    )
    assert "paired with this mentor before" in (
        why_not(policy, mentee, person("sam", languages=("en",), free_capacity=1), excluded_mentors=["sam"])
        or ""
    )
    assert why_not(policy, mentee, person("sam", languages=("en",), free_capacity=1)) is None


def test_an_unmatched_mentees_reason_is_a_sentence_naming_the_one_rule_that_applied() -> None:
    policy = MatchingPolicy(org_id=ORG)
    mentee = person("ada", languages=("en",))
    paused = person("sam", languages=("en",), free_capacity=1, accepting_mentees=False)
    (alone,) = run_cohort(policy, [mentee], [paused]).unmatched
    assert alone.reason == "Every mentor of this program has paused mentoring for now."
    german = person("udo", languages=("de",), free_capacity=1)
    (unfit,) = run_cohort(policy, [mentee], [german]).unmatched
    assert unfit.reason == "No mentor left shares a language with this mentee, which this program requires."
    boss = person("bea", languages=("en",), free_capacity=1)
    (managed,) = run_cohort(policy, [mentee], [boss], managers={"ada": "bea"}).unmatched
    assert managed.reason == "Every mentor left is in this mentee's reporting line, and a mentor never is."
    (mixed,) = run_cohort(policy, [mentee], [paused, german]).unmatched
    assert mixed.reason == (
        "No mentor is possible for this mentee now "
        "(of 2 mentors: 1 paused, 1 sharing no language with the mentee)."
    )
