"""Component weights learned from how a program's past pairs turned out, and how much better they rank
pairs that then went well than the weights in force, measured on pairs held out by time.

- Fit: logistic regression of success (see domain/outcomes.py) on the component values, with every
  weight constrained to be non-negative (a component can only count for a pair, as in the engine) and
  a small L2 penalty; the intercept is free. Non-negative weights normalised to sum to 1 read like the
  weights an admin sets by hand: the share of the score each component carries.
- Evaluation: the latest `holdout_fraction` of labelled pairs (by start) are never seen by the fit.
  On them, the AUC of the score under the weights in force and under the learned weights (the chance
  that a pair that went well outranks one that did not), with 95% intervals from a stratified paired
  bootstrap, and the lift (their difference) with its own interval.
- The proposal only proposes: adoption is a separate, explicit step (domain/adopted_weights.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize  # type: ignore[import-untyped]
from scipy.stats import rankdata  # type: ignore[import-untyped]

from matching.domain.outcomes import LabellingRule, PairOutcome, label_outcome
from matching.domain.programs import COMPONENTS

Floats = npt.NDArray[np.float64]


class NotEnoughOutcomes(ValueError):
    """Too few labelled pairs of each kind to fit or to judge weights (the message says which)."""


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class LabelledPair:
    pair_id: str
    started_at: datetime
    features: tuple[float, ...]  # component values in COMPONENTS order
    success: bool


def labelled_pairs(
    outcomes: Iterable[PairOutcome], now: datetime, rule: LabellingRule | None = None
) -> tuple[list[LabelledPair], int]:
    """The pairs that have a label, and how many did not."""
    labelled, unlabelled = [], 0
    for outcome in outcomes:
        label = label_outcome(outcome, now, rule)
        if label.success is None:
            unlabelled += 1
            continue
        features = tuple(float(outcome.components.get(name, 0.0)) for name in COMPONENTS)
        labelled.append(LabelledPair(outcome.pair_id, outcome.started_at, features, label.success))
    return labelled, unlabelled


def time_split(
    pairs: Sequence[LabelledPair], holdout_fraction: float = 0.3
) -> tuple[list[LabelledPair], list[LabelledPair]]:
    """(earlier pairs to fit on, later pairs to judge on); pairs that started at the same moment as the
    first held-out pair are held out too, so no test pair is older than a training pair."""
    ordered = sorted(pairs, key=lambda p: (p.started_at, p.pair_id))
    if not ordered:
        return [], []
    cut = min(len(ordered) - 1, math.ceil(len(ordered) * (1 - holdout_fraction)))
    boundary = ordered[cut].started_at
    return [p for p in ordered if p.started_at < boundary], [p for p in ordered if p.started_at >= boundary]


def arrays(pairs: Sequence[LabelledPair]) -> tuple[Floats, npt.NDArray[np.bool_]]:
    features = np.asarray([p.features for p in pairs], dtype=np.float64).reshape(len(pairs), len(COMPONENTS))
    return features, np.asarray([p.success for p in pairs], dtype=bool)


def fit_nonnegative_logistic(features: Floats, success: npt.NDArray[np.bool_], l2: float = 1e-3) -> Floats:
    """Weights >= 0 (one per column) of a logistic regression with a free intercept, minimising the
    mean log-loss plus l2/2 |w|^2 (L-BFGS-B with the exact gradient)."""
    count, width = features.shape
    sign = np.where(success, 1.0, -1.0)

    def loss(params: Floats) -> tuple[float, Floats]:
        margin = sign * (features @ params[:width] + params[width])
        # log(1 + e^-m) and its derivative -sigmoid(-m), computed stably.
        value = np.logaddexp(0.0, -margin).mean() + 0.5 * l2 * float(params[:width] @ params[:width])
        slope = -sign * np.exp(-np.logaddexp(0.0, margin)) / count
        gradient = np.append(features.T @ slope + l2 * params[:width], slope.sum())
        return float(value), gradient

    bounds = [(0.0, None)] * width + [(None, None)]
    result = minimize(loss, np.zeros(width + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return np.maximum(np.asarray(result.x[:width], dtype=np.float64), 0.0)


def auc(scores: Floats, success: npt.NDArray[np.bool_]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half)."""
    positives = int(success.sum())
    negatives = len(success) - positives
    if positives == 0 or negatives == 0:
        raise NotEnoughOutcomes("an AUC needs pairs that went well and pairs that did not")
    ranks = rankdata(scores)
    return float((ranks[success].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def paired_bootstrap(
    baseline: Floats, candidate: Floats, success: npt.NDArray[np.bool_], draws: int = 1000, seed: int = 0
) -> tuple[Interval, Interval, Interval]:
    """95% percentile intervals of AUC(baseline), AUC(candidate) and their difference, resampling the
    held-out pairs with replacement within each class (every draw keeps both kinds of pair)."""
    rng = np.random.default_rng(seed)
    positive, negative = np.flatnonzero(success), np.flatnonzero(~success)
    samples = np.zeros((draws, 2))
    for draw in range(draws):
        rows = np.concatenate([rng.choice(positive, len(positive)), rng.choice(negative, len(negative))])
        samples[draw] = auc(baseline[rows], success[rows]), auc(candidate[rows], success[rows])
    point = np.asarray([auc(baseline, success), auc(candidate, success)])

    def interval(values: Floats, value: float) -> Interval:
        low, high = np.percentile(values, [2.5, 97.5])
        return Interval(round(value, 4), round(float(low), 4), round(float(high), 4))

    return (
        interval(samples[:, 0], float(point[0])),
        interval(samples[:, 1], float(point[1])),
        interval(samples[:, 1] - samples[:, 0], float(point[1] - point[0])),
    )


def normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.get(name, 0.0) for name in COMPONENTS)
    if total <= 0:
        raise ValueError("at least one weight must be positive")
    return {name: weights.get(name, 0.0) / total for name in COMPONENTS}


def weight_vector(weights: Mapping[str, float]) -> Floats:
    shares = normalised(weights)
    return np.asarray([shares[name] for name in COMPONENTS], dtype=np.float64)


@dataclass(frozen=True)
class WeightProposal:
    """Learned weights for one program, with the evidence an admin needs before adopting them."""

    org_id: str
    program_id: str
    weights: dict[str, float]  # shares summing to 1, rounded to 4 decimals
    current_weights: dict[str, float]  # the weights in force when fitted, as shares
    current_auc: Interval
    learned_auc: Interval
    lift: Interval
    train_pairs: int
    test_pairs: int
    unlabelled_pairs: int
    held_out_from: datetime
    fitted_at: datetime

    @property
    def proposal_id(self) -> str:
        canonical = json.dumps(
            [self.org_id, self.program_id, self.weights, self.current_weights, self.fitted_at.isoformat()],
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _check_classes(name: str, success: npt.NDArray[np.bool_], minimum: int) -> None:
    positives = int(success.sum())
    negatives = len(success) - positives
    if min(positives, negatives) < minimum:
        raise NotEnoughOutcomes(
            f"{name}: {positives} pairs went well and {negatives} did not; at least {minimum} of each needed"
        )


def propose_weights(
    outcomes: Sequence[PairOutcome],
    current_weights: Mapping[str, float],
    now: datetime,
    *,
    rule: LabellingRule | None = None,
    holdout_fraction: float = 0.3,
    min_per_class: int = 10,
    draws: int = 1000,
    seed: int = 0,
    l2: float = 1e-3,
) -> WeightProposal:
    """Fit on the earlier pairs of one program, judge on the later ones; the weights proposed are
    exactly the weights judged (rounded as they would be stored)."""
    programs = {(o.org_id, o.program_id) for o in outcomes}
    if len(programs) != 1:
        raise ValueError(f"outcomes of exactly one program are needed, got {len(programs)}")
    org_id, program_id = programs.pop()
    pairs, unlabelled = labelled_pairs(outcomes, now, rule)
    train, test = time_split(pairs, holdout_fraction)
    train_features, train_success = arrays(train)
    test_features, test_success = arrays(test)
    _check_classes("earlier pairs (to fit on)", train_success, min_per_class)
    _check_classes("later pairs (held out)", test_success, min_per_class)
    learned = fit_nonnegative_logistic(train_features, train_success, l2)
    if learned.sum() <= 0:
        raise NotEnoughOutcomes("no component predicts how the earlier pairs went")
    shares = {name: round(float(w), 4) for name, w in zip(COMPONENTS, learned / learned.sum(), strict=True)}
    current = normalised(current_weights)
    baseline, candidate = test_features @ weight_vector(current), test_features @ weight_vector(shares)
    current_auc, learned_auc, lift = paired_bootstrap(baseline, candidate, test_success, draws, seed)
    return WeightProposal(
        org_id=org_id,
        program_id=program_id,
        weights=shares,
        current_weights={name: round(share, 6) for name, share in current.items()},
        current_auc=current_auc,
        learned_auc=learned_auc,
        lift=lift,
        train_pairs=len(train),
        test_pairs=len(test),
        unlabelled_pairs=unlabelled,
        held_out_from=test[0].started_at,
        fitted_at=now,
    )
