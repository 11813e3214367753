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
from matching.api.pairs import RematchOut
from matching.domain.seat import DeclineReason, MenteeSeat, SeatStatus
from matching.domain.seat_parts import HoldKind
from matching.domain.words import as_sentence, language_name
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


class OfferedSkillOut(BaseModel):
    name: str
    level: str = Field(description="beginner | intermediate | advanced | expert")


class SuggestionOut(BaseModel):
    """A suggested mentor: what a mentee needs to choose, and nothing private (no email, manager,
    goals, personality answers or load)."""

    mentor_id: str
    name: str | None = Field(default=None, description="The mentor's display name.")
    title: str | None = None
    department: str | None = None
    skills: list[OfferedSkillOut] = Field(default_factory=list, description="Offered skills with levels.")
    timezone: str | None = None
    languages: list[str] = Field(default_factory=list, description="Languages by name.")
    score: float
    breakdown: dict[str, float]
    reasons: list[str] = Field(description="Why they fit, as short clauses.")
    why: str = Field(description="Why they fit, as one sentence.")


def _suggestion_out(card: requests.Suggestion) -> SuggestionOut:
    mentor, fit = card.mentor, card.explanation
    return SuggestionOut(
        mentor_id=fit.mentor_id,
        name=mentor.display_name,
        title=mentor.title,
        department=mentor.department,
        skills=[
            OfferedSkillOut(name=skill, level=mentor.skill_levels.get(skill, "intermediate"))
            for skill in mentor.skills_offered
        ],
        timezone=mentor.timezone,
        languages=[language_name(code) for code in mentor.languages],
        score=fit.score,
        breakdown=fit.breakdown,
        reasons=list(fit.reasons),
        why=as_sentence(f"Why {mentor.display_name or 'this mentor'} fits", fit.reasons)
        if fit.reasons
        else "This mentor passes every rule of the program, with no particular strength.",
    )


@router.get(
    "/suggestions",
    response_model=list[SuggestionOut],
    summary="The caller's best mentors: who they are (name, title, department, skills, timezone, "
    "languages) and why they fit",
    responses=problems(404, 409, 422),
)
async def suggestions(
    matching: MatchingDep,
    caller: CallerDep,
    limit: int = Query(default=10, ge=1, le=50),
    focus: str | None = Query(default=None, max_length=100, description="One of the caller's focus areas."),
) -> list[SuggestionOut]:
    return [_suggestion_out(card) for card in await requests.suggestion_cards(matching, caller, focus, limit)]


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
    next: RematchOut | None = Field(
        default=None,
        description="After a rejected proposal: what the mentee has now (the next match, or why none).",
    )


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        default=None, max_length=1000, description="Why: kept in the audit, never shown to the mentee."
    )


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
    summary="Reject a proposal (admins), with a reason the audit keeps; the mentee gets the next mentor",
    responses=problems(403, 404, 409),
)
async def reject_proposal(
    matching: MatchingDep, caller: CallerDep, proposal_id: IdPath, body: RejectIn | None = None
) -> AnswerOut:
    forbid_unless(caller.is_admin, "reject proposals")
    reason = DeclineReason.REJECTED
    note = body.reason if body else None
    after = await requests.refuse(matching, caller, proposal_id, HoldKind.PROPOSAL, None, reason, note)
    following = RematchOut.model_validate(after, from_attributes=True) if after else None
    return AnswerOut(id=proposal_id, outcome=reason.value, next=following)
