"""Learning component weights from outcomes (domain): a non-negative fit that finds the components
that matter, an AUC that is the textbook one, a split by time that never leaks the future, and a
proposal whose lift over the weights in force is measured on held-out pairs with an interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matching.domain.outcomes import PairEnding, PairOutcome
from matching.domain.programs import COMPONENTS, DEFAULT_WEIGHTS
from matching.domain.weight_learning import (
    LabelledPair,
    NotEnoughOutcomes,
    auc,
    fit_nonnegative_logistic,
    paired_bootstrap,
    propose_weights,
    time_split,
)

pytestmark = pytest.mark.fast
START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=800)
HIDDEN = {"goals": 4.0, "level_gap": 3.0, "timezone": 2.0}  # every other component does not matter


def synthetic_outcomes(count: int, seed: int, program: str = "open") -> list[PairOutcome]:
    """Pairs whose success follows HIDDEN (logistic, with noise); labelled through the real rule."""
    rng = np.random.default_rng(seed)
    outcomes = []
    for k in range(count):
        values = {name: float(rng.random()) for name in COMPONENTS}
        logit = sum(weight * values[name] for name, weight in HIDDEN.items()) - 4.5
        success = rng.random() < 1 / (1 + np.exp(-logit))
        started = START + timedelta(days=int(k * 700 / count))
        ended = started + timedelta(days=84)
        outcomes.append(
            PairOutcome(
                pair_id=f"{program}-p{k}",
                org_id="org-1",
                program_id=program,
                started_at=started,
                components=values,
                ended_at=ended,
                ending=PairEnding.COMPLETED if success else PairEnding.NOT_A_FIT,
                sessions_held=6 if success else 1,
                learned_yes=5 if success else 0,
                learned_answers=6 if success else 1,
            )
        )
    return outcomes


def test_fit_weighs_the_components_that_predict_success_and_zeroes_one_that_hurts() -> None:
    rng = np.random.default_rng(7)
    features = rng.random((4000, 4))
    logit = 5 * features[:, 0] + 2 * features[:, 1] - 3 * features[:, 3] - 1.5
    success = rng.random(4000) < 1 / (1 + np.exp(-logit))
    weights = fit_nonnegative_logistic(features, success)
    assert (weights >= 0).all()
    assert weights[0] > weights[1] > 0.5
    assert weights[2] < 0.2  # does not matter
    assert weights[3] == 0.0  # would be negative: clamped at zero, never below


def test_auc_is_the_share_of_good_bad_pairs_ranked_right_with_ties_as_half() -> None:
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, 60).astype(float)
    success = rng.random(60) < 0.4
    good, bad = scores[success], scores[~success]
    brute = np.mean([(g > b) + 0.5 * (g == b) for g in good for b in bad])
    assert auc(scores, success) == pytest.approx(brute)
    assert auc(np.asarray([0.1, 0.9]), np.asarray([False, True])) == 1.0
    with pytest.raises(NotEnoughOutcomes):
        auc(np.asarray([0.1, 0.9]), np.asarray([True, True]))


def test_time_split_holds_out_the_latest_pairs_and_keeps_a_start_time_together() -> None:
    day = [START + timedelta(days=d) for d in (0, 1, 2, 3, 3, 3, 4, 5, 6, 7)]
    pairs = [LabelledPair(f"p{k}", at, (0.0,) * len(COMPONENTS), k % 2 == 0) for k, at in enumerate(day)]
    train, test = time_split(list(reversed(pairs)), holdout_fraction=0.5)
    assert max(p.started_at for p in train) < min(p.started_at for p in test)
    assert len(train) + len(test) == len(pairs)
    assert [p.pair_id for p in train] == ["p0", "p1", "p2"]


def test_bootstrap_intervals_contain_the_point_and_repeat_with_the_seed() -> None:
    rng = np.random.default_rng(3)
    success = rng.random(300) < 0.5
    baseline = rng.random(300) + 0.2 * success
    better = rng.random(300) + 0.8 * success
    first = paired_bootstrap(baseline, better, success, draws=300, seed=5)
    assert first == paired_bootstrap(baseline, better, success, draws=300, seed=5)
    for interval in first:
        assert interval.low <= interval.value <= interval.high
    assert first[2].low > 0  # the better score's lift is clearly positive


def test_proposal_ranks_held_out_pairs_better_than_the_weights_in_force() -> None:
    outcomes = synthetic_outcomes(1500, seed=11)
    proposal = propose_weights(outcomes, DEFAULT_WEIGHTS, NOW, draws=300)
    assert proposal.train_pairs + proposal.test_pairs == 1500
    assert proposal.test_pairs == pytest.approx(450, abs=5)
    assert proposal.held_out_from >= START + timedelta(days=480)
    assert sum(proposal.weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert min(proposal.weights.values()) >= 0
    top = sorted(proposal.weights, key=lambda name: -proposal.weights[name])[:3]
    assert set(top) == set(HIDDEN)
    assert proposal.learned_auc.value > proposal.current_auc.value + 0.05
    assert proposal.lift.low > 0
    assert proposal.current_weights == pytest.approx(DEFAULT_WEIGHTS, abs=1e-6)


def test_a_proposal_needs_enough_pairs_of_each_kind_and_one_program() -> None:
    with pytest.raises(NotEnoughOutcomes, match="at least 10 of each"):
        propose_weights(synthetic_outcomes(30, seed=2), DEFAULT_WEIGHTS, NOW)
    with pytest.raises(ValueError, match="exactly one program"):
        propose_weights(
            synthetic_outcomes(40, seed=2) + synthetic_outcomes(40, seed=3, program="peer"),
            DEFAULT_WEIGHTS,
            NOW,
        )
