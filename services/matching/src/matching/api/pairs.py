"""HTTP routes about pairs: a person's own (or any in the org, for admins), one pair, ending one,
and escalating a stagnant one to a rematch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from mentorship_schemas.events import PairEndReason
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.seat import MenteeSeat
from matching.use_cases import pairs
from matching.use_cases.rematch import Outcome

PairPath = Annotated[str, Path(min_length=1, max_length=128)]
router = APIRouter(prefix="/pairs", tags=["pairs"])


class Stagnation(BaseModel):
    episode_id: str
    severity: str
    reasons: list[str]
    suggested_actions: list[str] = []
    since: datetime | None = None


class PairOut(BaseModel):
    pair_id: str
    program_id: str
    mentee_id: str
    mentor_id: str
    score: float
    reasons: list[str]
    breakdown: dict[str, float] = {}
    created_at: datetime
    ends_at: datetime | None = None
    focus: str | None = Field(
        default=None, description="The focus area, when the program has several per mentee."
    )
    stagnation: Stagnation | None = None


def _out(seat: MenteeSeat) -> PairOut:
    assert seat.pair is not None
    return PairOut.model_validate({"mentee_id": seat.person_id, **seat.pair.model_dump()})


@router.get("", response_model=list[PairOut], summary="Pairs a person is in", responses=problems(403))
async def list_pairs(
    matching: MatchingDep,
    caller: CallerDep,
    person: str | None = Query(default=None, max_length=128, description="Defaults to the caller."),
    limit: int = Query(default=50, ge=1, le=200),
) -> list[PairOut]:
    person_id = person or caller.person_id
    forbid_unless(person_id == caller.person_id or caller.is_admin, "see another person's pairs")
    return [_out(seat) for seat in await pairs.pairs_of(matching, caller.org_id, person_id, limit)]


@router.get(
    "/{pair_id}",
    response_model=PairOut,
    summary="One current pair, with why it was made",
    responses=problems(404),
)
async def get_pair(matching: MatchingDep, caller: CallerDep, pair_id: PairPath) -> PairOut:
    return _out(await pairs.pair_for(matching, caller, pair_id))


class EndReason(StrEnum):
    """Why a pair ends (PairEnded.reason), as its people or an admin may say it."""

    COMPLETED = PairEndReason.COMPLETED.value
    NOT_A_FIT = PairEndReason.NOT_A_FIT.value
    STAGNANT = PairEndReason.STAGNANT.value
    MENTOR_LEFT = PairEndReason.MENTOR_LEFT.value
    MENTEE_LEFT = PairEndReason.MENTEE_LEFT.value
    OTHER = PairEndReason.OTHER.value


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: EndReason


class EndOut(BaseModel):
    pair_id: str
    reason: str
    rematching: bool = Field(description="The mentee is back in the pool, without this mentor.")


class RematchOut(BaseModel):
    """What became of the mentee after an escalation."""

    outcome: Outcome = Field(
        description="paired | proposed (awaits an admin) | requested (awaits the mentor) | unmatched "
        "(no mentor is possible: `reason` says why, and the mentee and the program's admins are told) | "
        "waiting (the program is closed)"
    )
    id: str | None = Field(default=None, description="The pair, proposal or request made.")
    mentor_id: str | None = None
    reason: str | None = None


class EscalateOut(EndOut):
    rematch: RematchOut


@router.post(
    "/{pair_id}/end",
    response_model=EndOut,
    summary="End a pair (its mentee, mentor or an admin)",
    responses=problems(404, 409),
)
async def end(matching: MatchingDep, caller: CallerDep, body: EndIn, pair_id: PairPath) -> EndOut:
    reason = PairEndReason(body.reason.value)
    rematching = await pairs.end(matching, caller, pair_id, reason)
    return EndOut(pair_id=pair_id, reason=reason.value, rematching=rematching)


@router.post(
    "/{pair_id}/escalate",
    response_model=EscalateOut,
    summary="Escalate a stagnant pair: it ends and the mentee gets a new match now, or is told why "
    "none is possible (pair or admin)",
    responses=problems(404, 409),
)
async def escalate(matching: MatchingDep, caller: CallerDep, pair_id: PairPath) -> EscalateOut:
    rematch = await pairs.escalate(matching, caller, pair_id)
    return EscalateOut(
        pair_id=pair_id,
        reason=PairEndReason.STAGNANT.value,
        rematching=True,
        rematch=RematchOut.model_validate(rematch, from_attributes=True),
    )
