"""A program's weights as versions: each adoption of learned weights, or reversal of one, is a version on
the program itself (who, when, from which proposal, the weights it replaced), written in the same
single-document change as the new weights, so the weights in force and their audit trail never disagree.
The rules are domain/adopted_weights.py's; this is how a `Program` carries them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel
from servicekit.aggregates import Emitted

from matching.domain.adopted_weights import AdoptedWeights, AdoptionRefused, adopt, revert, same_weights
from matching.domain.weight_learning import WeightProposal

if TYPE_CHECKING:
    from matching.domain.program import Program


class WeightsVersion(BaseModel):
    """One adopted (or reverted) weighting of a program, as stored on it."""

    version: int
    weights: dict[str, float]
    replaced_weights: dict[str, float]
    author: str
    adopted_at: datetime
    source: str

    @classmethod
    def of(cls, adopted: AdoptedWeights) -> WeightsVersion:
        return cls(
            version=adopted.version,
            weights=dict(adopted.weights),
            replaced_weights=dict(adopted.replaced_weights),
            author=adopted.author,
            adopted_at=adopted.adopted_at,
            source=adopted.source,
        )


def current_adoption(program: Program) -> AdoptedWeights | None:
    """The program's latest version, linked to those before it (None: never adopted)."""
    current: AdoptedWeights | None = None
    for stored in sorted(program.weights_history, key=lambda v: v.version):
        current = AdoptedWeights(
            org_id=program.org_id,
            program_id=program.program_id,
            version=stored.version,
            weights=dict(stored.weights),
            replaced_weights=dict(stored.replaced_weights),
            author=stored.author,
            adopted_at=stored.adopted_at,
            source=stored.source,
            previous=current,
        )
    return current


def _put_in_force(
    program: Program, adopted: AdoptedWeights, now: datetime
) -> tuple[WeightsVersion, list[Emitted]]:
    version = WeightsVersion.of(adopted)
    program.weights = dict(adopted.weights)
    program.weights_history = [*program.weights_history, version]
    program.updated_at = now
    return version, []


def adopt_proposal(
    program: Program,
    proposal: WeightProposal,
    *,
    author: str,
    now: datetime,
    accept_without_lift: bool = False,
) -> tuple[WeightsVersion, list[Emitted]]:
    """The proposal's weights become the program's, as its next version (refused: AdoptionRefused)."""
    if (proposal.org_id, proposal.program_id) != (program.org_id, program.program_id):
        raise AdoptionRefused("the proposal was fitted for another program")
    adopted = adopt(
        current_adoption(program),
        proposal,
        weights_in_force=program.weights,
        author=author,
        at=now,
        accept_without_lift=accept_without_lift,
    )
    return _put_in_force(program, adopted, now)


def revert_version(
    program: Program, version: int, *, author: str, now: datetime
) -> tuple[WeightsVersion, list[Emitted]]:
    """Put back the weights the latest version replaced, as a new version. Only the latest version can
    be reverted, and only while its weights are still in force (not changed by hand since)."""
    current = current_adoption(program)
    if current is None:
        raise AdoptionRefused("no weights were adopted for this program")
    if version != current.version:
        raise AdoptionRefused(f"version {version} is not the latest (version {current.version} is)")
    if not same_weights(current.weights, program.weights):
        raise AdoptionRefused(
            f"the weights were changed by hand since version {current.version}: set them by hand instead"
        )
    return _put_in_force(program, revert(current, author=author, at=now), now)
