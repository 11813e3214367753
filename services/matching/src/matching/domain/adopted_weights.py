"""Adopting learned weights for a program: explicit, versioned, attributed and reversible.

Each adoption or reversal is a new version that records who did it, when, from what, and the
weights it replaced, and links to the version before it; nothing is overwritten, so the history is
the audit trail and any version can be returned to. Adoption refuses a proposal that was judged
against other weights than those in force (stale: fit again) and, unless the admin says so, one
whose lift is not clearly above zero. Weights only change scores: hard rules and fairness floors are
applied by the engine whatever the weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from matching.domain.weight_learning import WeightProposal, normalised

# Two weightings that differ by less than this (per component share) are the same weighting.
SAME_WEIGHTS_TOLERANCE = 1e-4


class AdoptionRefused(ValueError):
    """The adoption or reversal was not made; the message says why."""


@dataclass(frozen=True)
class AdoptedWeights:
    org_id: str
    program_id: str
    version: int
    weights: dict[str, float]
    replaced_weights: dict[str, float]
    author: str
    adopted_at: datetime
    source: str  # "proposal <id> (lift ...)" or "revert of version <n>"
    previous: AdoptedWeights | None = None


def same_weights(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    left, right = normalised(a), normalised(b)
    return all(abs(left[name] - right[name]) <= SAME_WEIGHTS_TOLERANCE for name in left)


def adopt(
    current: AdoptedWeights | None,
    proposal: WeightProposal,
    *,
    weights_in_force: Mapping[str, float],
    author: str,
    at: datetime,
    accept_without_lift: bool = False,
) -> AdoptedWeights:
    """The next version, with the proposal's weights (`weights_in_force`: the program's weights now)."""
    if not author:
        raise AdoptionRefused("an adoption names its author")
    if current is not None and (current.org_id, current.program_id) != (proposal.org_id, proposal.program_id):
        raise AdoptionRefused("the proposal was fitted for another program")
    if not same_weights(proposal.current_weights, weights_in_force):
        raise AdoptionRefused("the proposal was judged against other weights than those in force: fit again")
    if proposal.lift.low <= 0 and not accept_without_lift:
        raise AdoptionRefused(
            f"the lift's 95% interval [{proposal.lift.low}, {proposal.lift.high}] does not exclude zero"
        )
    return AdoptedWeights(
        org_id=proposal.org_id,
        program_id=proposal.program_id,
        version=1 if current is None else current.version + 1,
        weights=dict(proposal.weights),
        replaced_weights=normalised(weights_in_force),
        author=author,
        adopted_at=at,
        source=f"proposal {proposal.proposal_id} (AUC {proposal.current_auc.value} -> "
        f"{proposal.learned_auc.value}, lift {proposal.lift.value} "
        f"[{proposal.lift.low}, {proposal.lift.high}])",
        previous=current,
    )


def revert(current: AdoptedWeights, *, author: str, at: datetime) -> AdoptedWeights:
    """A new version that puts back the weights `current` replaced."""
    if not author:
        raise AdoptionRefused("a reversal names its author")
    return AdoptedWeights(
        org_id=current.org_id,
        program_id=current.program_id,
        version=current.version + 1,
        weights=dict(current.replaced_weights),
        replaced_weights=dict(current.weights),
        author=author,
        adopted_at=at,
        source=f"revert of version {current.version}",
        previous=current,
    )


def history(current: AdoptedWeights | None) -> list[AdoptedWeights]:
    """Every version, newest first."""
    versions = []
    while current is not None:
        versions.append(current)
        current = current.previous
    return versions
