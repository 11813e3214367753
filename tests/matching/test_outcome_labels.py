"""Labelling past pairs by how they went (domain): endings that decide, endings that say nothing,
pairs too young to judge, and the quality of the rest from sessions, answers, goals and stagnation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from matching.domain.outcomes import LabellingRule, PairEnding, PairOutcome, label_outcome

pytestmark = pytest.mark.fast
START = datetime(2025, 1, 6, tzinfo=UTC)
NOW = START + timedelta(days=120)


def outcome(**fields: object) -> PairOutcome:
    base: dict[str, object] = {
        "pair_id": "p1",
        "org_id": "org-1",
        "program_id": "open",
        "started_at": START,
        "components": {"skills": 0.8, "goals": 0.4},
        "cadence_days": 14,
    }
    return PairOutcome(**(base | fields))  # type: ignore[arg-type]


def test_not_a_fit_and_stagnant_endings_are_failures_whatever_the_sessions() -> None:
    for ending in (PairEnding.NOT_A_FIT, PairEnding.STAGNANT):
        label = label_outcome(
            outcome(
                ended_at=START + timedelta(days=90),
                ending=ending,
                sessions_held=6,
                learned_yes=6,
                learned_answers=6,
            ),
            NOW,
        )
        assert label.success is False
        assert label.reason == f"ended as {ending.value}"


def test_endings_that_say_nothing_of_the_fit_and_young_pairs_are_not_labelled() -> None:
    for ending in (PairEnding.MENTOR_LEFT, PairEnding.MENTEE_LEFT, PairEnding.ERASED, PairEnding.OTHER):
        label = label_outcome(
            outcome(ended_at=START + timedelta(days=60), ending=ending, sessions_held=4), NOW
        )
        assert label.success is None
    young = label_outcome(outcome(sessions_held=2), START + timedelta(days=30))
    assert young.success is None
    assert young.reason == "running for 30 days only"


def test_a_pair_meeting_on_cadence_that_learns_and_reaches_goals_is_a_success() -> None:
    # 120 days at a 14-day cadence: 8 sessions expected.
    label = label_outcome(
        outcome(
            sessions_held=8,
            learned_yes=7,
            learned_answers=8,
            useful_yes=8,
            useful_answers=8,
            goals_set=2,
            goals_achieved=1,
        ),
        NOW,
    )
    assert label.success is True
    assert label.quality == pytest.approx(0.4 * 1 + 0.2 * 7 / 8 + 0.1 * 1 + 0.3 * 0.5)
    assert label.reason.endswith("(8 of 8 expected sessions)")


def test_a_completed_pair_that_rarely_met_is_a_failure_and_missing_signals_do_not_count() -> None:
    rarely = label_outcome(
        outcome(ended_at=START + timedelta(days=84), ending=PairEnding.COMPLETED, sessions_held=1), NOW
    )
    # Only attendance is known: 1 of 6 sessions.
    assert rarely.quality == pytest.approx(1 / 6, abs=1e-4)
    assert rarely.success is False
    often = label_outcome(
        outcome(ended_at=START + timedelta(days=84), ending=PairEnding.COMPLETED, sessions_held=5), NOW
    )
    assert often.success is True


def test_each_stagnation_episode_lowers_the_quality() -> None:
    fields = {"sessions_held": 6, "learned_yes": 3, "learned_answers": 6}
    calm = label_outcome(outcome(**fields), NOW)
    troubled = label_outcome(outcome(**fields, stagnant_episodes=2), NOW)
    assert calm.quality is not None
    assert troubled.quality == pytest.approx(calm.quality - 0.3, abs=1e-4)
    assert calm.success is True
    assert troubled.success is False


def test_the_rule_is_a_parameter() -> None:
    strict = LabellingRule(success_threshold=0.9)
    label = label_outcome(outcome(sessions_held=7), NOW, strict)
    assert label.quality == pytest.approx(7 / 8)
    assert label.success is False


def test_inconsistent_outcomes_are_refused() -> None:
    with pytest.raises(ValueError, match="yes answers"):
        outcome(learned_yes=3, learned_answers=2)
    with pytest.raises(ValueError, match="goals achieved"):
        outcome(goals_set=1, goals_achieved=2)
    with pytest.raises(ValueError, match="end time and an ending"):
        outcome(ending=PairEnding.COMPLETED)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        outcome(components={"skills": 1.5})
