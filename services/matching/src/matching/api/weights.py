"""HTTP routes for admins' learned weights: fit and preview a proposal for a program, adopt it (a new
version of the program's weights, naming who adopted it), list the versions, revert the latest."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.program_weights import WeightsVersion
from matching.domain.weight_learning import WeightProposal
from matching.use_cases import weights

ProgramPath = Annotated[str, Path(min_length=1, max_length=64)]
router = APIRouter(prefix="/programs/{program_id}/weights", tags=["learned weights"])


class IntervalOut(BaseModel):
    value: float
    low: float = Field(description="2.5th percentile of a stratified paired bootstrap of the held-out pairs.")
    high: float = Field(description="97.5th percentile.")


class WeightProposalOut(BaseModel):
    """Weights learned on the program's earlier pairs, judged on its later ones (held out by time)."""

    proposal_id: str
    program_id: str
    weights: dict[str, float] = Field(description="Proposed: each component's share of the score.")
    current_weights: dict[str, float] = Field(description="In force when fitted, as shares.")
    current_auc: IntervalOut = Field(description="Held-out AUC of the weights in force.")
    learned_auc: IntervalOut = Field(description="Held-out AUC of the proposed weights.")
    lift: IntervalOut = Field(description="learned_auc - current_auc, with its own interval.")
    train_pairs: int
    test_pairs: int
    unlabelled_pairs: int = Field(
        description="Pairs left out: too young, or ended for a reason unrelated to fit."
    )
    held_out_from: datetime = Field(description="Pairs that started from then on were held out.")
    fitted_at: datetime

    @classmethod
    def of(cls, proposal: WeightProposal) -> WeightProposalOut:
        intervals = {
            name: IntervalOut(value=i.value, low=i.low, high=i.high)
            for name, i in (
                ("current_auc", proposal.current_auc),
                ("learned_auc", proposal.learned_auc),
                ("lift", proposal.lift),
            )
        }
        return cls(
            proposal_id=proposal.proposal_id,
            program_id=proposal.program_id,
            weights=proposal.weights,
            current_weights=proposal.current_weights,
            train_pairs=proposal.train_pairs,
            test_pairs=proposal.test_pairs,
            unlabelled_pairs=proposal.unlabelled_pairs,
            held_out_from=proposal.held_out_from,
            fitted_at=proposal.fitted_at,
            **intervals,
        )


class AdoptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proposal_id: str = Field(min_length=1, max_length=64)
    accept_without_lift: bool = Field(
        default=False, description="Adopt even though the lift's 95% interval does not exclude zero."
    )


class RevertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, description="The version to revert: the latest one.")


class WeightsVersionOut(BaseModel):
    version: int
    weights: dict[str, float] = Field(description="The weights this version put in force.")
    replaced_weights: dict[str, float] = Field(description="The weights in force before it.")
    author: str = Field(description="The admin who adopted or reverted.")
    adopted_at: datetime
    source: str = Field(description="The proposal and its evidence, or the version reverted.")

    @classmethod
    def of(cls, version: WeightsVersion) -> WeightsVersionOut:
        return cls.model_validate(version.model_dump())


@router.post(
    "/proposals",
    response_model=WeightProposalOut,
    status_code=201,
    summary="Learn weights from the program's past pairs and preview them (admins)",
    responses=problems(403, 404, 409),
)
async def propose_weights(
    matching: MatchingDep, caller: CallerDep, program_id: ProgramPath
) -> WeightProposalOut:
    forbid_unless(caller.is_admin, "learn a program's weights")
    return WeightProposalOut.of(await weights.propose(matching, caller.org_id, program_id))


@router.post(
    "/adoptions",
    response_model=WeightsVersionOut,
    status_code=201,
    summary="Adopt a proposal: its weights become the program's (admins)",
    responses=problems(403, 404, 409),
)
async def adopt_weights(
    matching: MatchingDep, caller: CallerDep, program_id: ProgramPath, body: AdoptionIn
) -> WeightsVersionOut:
    forbid_unless(caller.is_admin, "adopt a program's weights")
    adopted = await weights.adopt(
        matching, caller, program_id, body.proposal_id, accept_without_lift=body.accept_without_lift
    )
    return WeightsVersionOut.of(adopted)


@router.get(
    "/adoptions",
    response_model=list[WeightsVersionOut],
    summary="The program's adopted and reverted weights, newest first (admins)",
    responses=problems(403, 404),
)
async def weights_history(
    matching: MatchingDep, caller: CallerDep, program_id: ProgramPath
) -> list[WeightsVersionOut]:
    forbid_unless(caller.is_admin, "see a program's weight history")
    return [WeightsVersionOut.of(v) for v in await weights.history(matching, caller.org_id, program_id)]


@router.post(
    "/reverts",
    response_model=WeightsVersionOut,
    status_code=201,
    summary="Revert the latest adopted weights: the ones it replaced return (admins)",
    responses=problems(403, 404, 409, 422),
)
async def revert_weights(
    matching: MatchingDep, caller: CallerDep, program_id: ProgramPath, body: RevertIn
) -> WeightsVersionOut:
    forbid_unless(caller.is_admin, "revert a program's weights")
    return WeightsVersionOut.of(await weights.revert(matching, caller, program_id, body.version))
