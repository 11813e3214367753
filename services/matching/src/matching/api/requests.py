"""HTTP routes for the mentee-initiated flow and for approvals: join a program, ranked suggestions
with reasons, requests to a mentor (accept, decline, withdraw), and admins' proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from mentorship_schemas.events import PersonRole
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.seat import DeclineReason, MenteeSeat, SeatStatus
from matching.domain.seat_parts import HoldKind
from matching.use_cases import requests

IdPath = Annotated[str, Path(min_length=1, max_length=128)]
router = APIRouter(tags=["requests and proposals"])


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: str | None = Field(
        default=None, max_length=128, description="Admins only; defaults to the caller."
    )


class JoinOut(BaseModel):
    person_id: str
    program_id: str
    status: str


@router.post(
    "/programs/{program_id}/join",
    response_model=JoinOut,
    summary="Wait for a mentor in this program (a mentee who is not paired or asking one now)",
    responses=problems(403, 404, 409),
)
async def join(
    matching: MatchingDep,
    caller: CallerDep,
    body: JoinIn,
    program_id: str = Path(min_length=1, max_length=64),
) -> JoinOut:
    person_id = body.person_id or caller.person_id
    forbid_unless(person_id == caller.person_id or caller.is_admin, "enrol another person")
    seat = await requests.join(matching, caller.org_id, person_id, program_id)
    return JoinOut(person_id=person_id, program_id=program_id, status=seat.status.value)


class SuggestionOut(BaseModel):
    mentor_id: str
    score: float
    breakdown: dict[str, float]
    reasons: list[str]


@router.get(
    "/suggestions",
    response_model=list[SuggestionOut],
    summary="The caller's best mentors, with why",
    responses=problems(404, 422),
)
async def suggestions(
    matching: MatchingDep,
    caller: CallerDep,
    limit: int = Query(default=10, ge=1, le=50),
    focus: str | None = Query(default=None, max_length=100, description="One of the caller's focus areas."),
) -> list[SuggestionOut]:
    found = await requests.suggestions(matching, caller, focus, limit)
    return [
        SuggestionOut(mentor_id=s.mentor_id, score=s.score, breakdown=s.breakdown, reasons=list(s.reasons))
        for s in found
    ]


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mentor_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    message: str | None = Field(default=None, max_length=1000, description="A note to the mentor.")
    focus: str | None = Field(
        default=None,
        max_length=100,
        description="Which focus area, in a program with one mentor per focus area.",
    )


class HoldOut(BaseModel):
    id: str
    kind: str
    program_id: str
    mentee_id: str
    mentor_id: str
    score: float
    reasons: list[str]
    breakdown: dict[str, float] = {}
    message: str | None = None
    automatic: bool = False
    focus: str | None = None
    run_id: str | None = None
    created_at: datetime
    expires_at: datetime | None = None


def _hold_out(seat: MenteeSeat) -> HoldOut:
    assert seat.hold is not None
    return HoldOut.model_validate({"mentee_id": seat.person_id, **seat.hold.model_dump(mode="json")})


@router.post(
    "/requests",
    response_model=HoldOut,
    status_code=201,
    summary="Ask a mentor (the caller as mentee)",
    responses=problems(404, 409, 422),
)
async def create_request(matching: MatchingDep, caller: CallerDep, body: RequestIn) -> HoldOut:
    return _hold_out(await requests.ask_mentor(matching, caller, body.mentor_id, body.message, body.focus))


@router.get(
    "/requests", response_model=list[HoldOut], summary="Open requests: the caller's own and those to them"
)
async def list_requests(matching: MatchingDep, caller: CallerDep) -> list[HoldOut]:
    return [_hold_out(seat) for seat in await requests.requests_of(matching, caller)]


class AnswerOut(BaseModel):
    id: str
    outcome: str = Field(description="paired, or why it ended without a pair")
    pair_id: str | None = None


@router.post(
    "/requests/{request_id}/accept",
    response_model=AnswerOut,
    summary="Accept a request (its mentor)",
    responses=problems(404, 409),
)
async def accept_request(matching: MatchingDep, caller: CallerDep, request_id: IdPath) -> AnswerOut:
    pair_id = await requests.accept(matching, caller, request_id, HoldKind.REQUEST, PersonRole.MENTOR)
    return AnswerOut(id=request_id, outcome=SeatStatus.PAIRED.value, pair_id=pair_id)


@router.post(
    "/requests/{request_id}/decline",
    response_model=AnswerOut,
    summary="Decline a request (its mentor)",
    responses=problems(404, 409),
)
async def decline_request(matching: MatchingDep, caller: CallerDep, request_id: IdPath) -> AnswerOut:
    reason = DeclineReason.DECLINED
    await requests.refuse(matching, caller, request_id, HoldKind.REQUEST, PersonRole.MENTOR, reason)
    return AnswerOut(id=request_id, outcome=reason.value)


@router.delete(
    "/requests/{request_id}",
    status_code=204,
    response_class=Response,
    summary="Withdraw one's own request (its mentee)",
    responses=problems(404, 409),
)
async def withdraw_request(matching: MatchingDep, caller: CallerDep, request_id: IdPath) -> None:
    reason = DeclineReason.WITHDRAWN
    await requests.refuse(matching, caller, request_id, HoldKind.REQUEST, PersonRole.MENTEE, reason)


@router.get(
    "/proposals",
    response_model=list[HoldOut],
    summary="Proposals awaiting approval (admins)",
    responses=problems(403),
)
async def list_proposals(
    matching: MatchingDep, caller: CallerDep, program_id: str | None = Query(default=None, max_length=64)
) -> list[HoldOut]:
    forbid_unless(caller.is_admin, "see proposals")
    return [_hold_out(seat) for seat in await requests.proposals(matching, caller.org_id, program_id)]


@router.post(
    "/proposals/{proposal_id}/approve",
    response_model=AnswerOut,
    summary="Approve a proposal (admins)",
    responses=problems(403, 404, 409),
)
async def approve_proposal(matching: MatchingDep, caller: CallerDep, proposal_id: IdPath) -> AnswerOut:
    forbid_unless(caller.is_admin, "approve proposals")
    pair_id = await requests.accept(matching, caller, proposal_id, HoldKind.PROPOSAL, None)
    return AnswerOut(id=proposal_id, outcome=SeatStatus.PAIRED.value, pair_id=pair_id)


@router.post(
    "/proposals/{proposal_id}/reject",
    response_model=AnswerOut,
    summary="Reject a proposal (admins)",
    responses=problems(403, 404, 409),
)
async def reject_proposal(matching: MatchingDep, caller: CallerDep, proposal_id: IdPath) -> AnswerOut:
    forbid_unless(caller.is_admin, "reject proposals")
    reason = DeclineReason.REJECTED
    await requests.refuse(matching, caller, proposal_id, HoldKind.PROPOSAL, None, reason)
    return AnswerOut(id=proposal_id, outcome=reason.value)
