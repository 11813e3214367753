"""How a past pair turned out, as a label the weights can learn from.

`PairOutcome` is what matching knows of one pair: the component values it was matched on and what
happened after (sessions held against the agreed cadence, the "I learned something" and "useful"
answers, goals achieved, stagnation episodes, how it ended). `label_outcome` applies the rule:

1. Ended as `not_a_fit` or `stagnant`: a failure, whatever else happened.
2. Ended for a reason that says nothing about the fit (`mentor_left`, `mentee_left`, `erased`,
   `other`), or still running and younger than `min_observed_days`: no label (left out of the fit).
3. Otherwise (ended `completed`, or running long enough) the quality is the weighted mean of the
   signals that exist: attendance = sessions held / sessions expected (what the cadence expected
   over the time observed, or the sessions held and missed when the pair scheduled more; capped at
   1), the share of "I learned something" answers, the share of "useful" answers, the share of
   goals achieved; minus `stagnation_penalty` per stagnation episode the pair recovered from.
   A success when the quality reaches `success_threshold`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class PairEnding(StrEnum):
    """Why a pair ended (the values of PairEnded's reason)."""

    COMPLETED = "completed"
    NOT_A_FIT = "not_a_fit"
    STAGNANT = "stagnant"
    MENTOR_LEFT = "mentor_left"
    MENTEE_LEFT = "mentee_left"
    ERASED = "erased"
    OTHER = "other"


FAILED_ENDINGS = frozenset({PairEnding.NOT_A_FIT, PairEnding.STAGNANT})
UNINFORMATIVE_ENDINGS = frozenset(
    {PairEnding.MENTOR_LEFT, PairEnding.MENTEE_LEFT, PairEnding.ERASED, PairEnding.OTHER}
)


@dataclass(frozen=True)
class PairOutcome:
    """One past pair of a program: what it was matched on and how it went."""

    pair_id: str
    org_id: str
    program_id: str
    started_at: datetime
    # Each compatibility component's value in [0, 1] when the pair was made (weights not applied).
    components: Mapping[str, float]
    cadence_days: int = 14
    ended_at: datetime | None = None
    ending: PairEnding | None = None
    sessions_held: int = 0
    sessions_missed: int = 0
    learned_yes: int = 0
    learned_answers: int = 0
    useful_yes: int = 0
    useful_answers: int = 0
    goals_set: int = 0
    goals_achieved: int = 0
    stagnant_episodes: int = 0

    def __post_init__(self) -> None:
        if self.ending is not None:  # a stored string becomes the enum (or is refused)
            object.__setattr__(self, "ending", PairEnding(self.ending))
        if self.cadence_days <= 0:
            raise ValueError("cadence_days must be positive")
        answers = ((self.learned_yes, self.learned_answers), (self.useful_yes, self.useful_answers))
        if any(not 0 <= yes <= total for yes, total in answers):
            raise ValueError("yes answers must lie between 0 and the number of answers")
        if not 0 <= self.goals_achieved <= self.goals_set:
            raise ValueError("goals achieved must lie between 0 and the goals set")
        if min(self.sessions_held, self.sessions_missed, self.stagnant_episodes) < 0:
            raise ValueError("counts must not be negative")
        if (self.ended_at is None) != (self.ending is None):
            raise ValueError("an ended pair has both an end time and an ending")
        if any(not 0.0 <= value <= 1.0 for value in self.components.values()):
            raise ValueError("component values lie in [0, 1]")


@dataclass(frozen=True)
class LabellingRule:
    min_observed_days: int = 42
    success_threshold: float = 0.5
    stagnation_penalty: float = 0.15
    signal_weights: Mapping[str, float] = field(
        default_factory=lambda: {"attendance": 0.4, "learned": 0.2, "useful": 0.1, "goals": 0.3}
    )


@dataclass(frozen=True)
class PairLabel:
    """`success` is None when the pair cannot be labelled yet (or ever); `reason` says why."""

    pair_id: str
    success: bool | None
    quality: float | None
    reason: str


def label_outcome(outcome: PairOutcome, now: datetime, rule: LabellingRule | None = None) -> PairLabel:
    rule = rule or LabellingRule()
    if outcome.ending in FAILED_ENDINGS:
        return PairLabel(outcome.pair_id, False, 0.0, f"ended as {outcome.ending.value}")
    if outcome.ending in UNINFORMATIVE_ENDINGS:
        why = f"ended as {outcome.ending.value}: says nothing of the fit"
        return PairLabel(outcome.pair_id, None, None, why)
    until = outcome.ended_at or now
    observed_days = (until - outcome.started_at).total_seconds() / 86_400
    if outcome.ending is None and observed_days < rule.min_observed_days:
        return PairLabel(outcome.pair_id, None, None, f"running for {observed_days:.0f} days only")
    expected = max(
        1, int(observed_days // outcome.cadence_days), outcome.sessions_held + outcome.sessions_missed
    )
    signals = {"attendance": min(1.0, outcome.sessions_held / expected)}
    if outcome.learned_answers:
        signals["learned"] = outcome.learned_yes / outcome.learned_answers
    if outcome.useful_answers:
        signals["useful"] = outcome.useful_yes / outcome.useful_answers
    if outcome.goals_set:
        signals["goals"] = outcome.goals_achieved / outcome.goals_set
    total_weight = sum(rule.signal_weights.get(name, 0.0) for name in signals)
    quality = sum(rule.signal_weights.get(name, 0.0) * value for name, value in signals.items())
    quality = quality / total_weight if total_weight > 0 else 0.0
    quality = max(0.0, quality - rule.stagnation_penalty * outcome.stagnant_episodes)
    success = quality >= rule.success_threshold
    held = f"{outcome.sessions_held} of {expected} expected sessions"
    return PairLabel(outcome.pair_id, success, round(quality, 4), f"quality {quality:.2f} ({held})")
