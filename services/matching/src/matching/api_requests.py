"""HTTP routes for the mentee-initiated flow and for approvals: join a program, ranked suggestions
with reasons, requests to a mentor (accept, decline, withdraw), and admins' proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import CurrentPrincipal, Principal, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from matching.domain.suggestions import why_not
from matching.flows import as_match, match_continuously, suggestions_for
from matching.pool import (
    HELD,
    PROPOSAL,
    REQUEST,
    WAITING,
    Document,
    OrgView,
    accept_hold,
    drop_hold,
    offer,
    org_view,
    rejoin,
    seat_mentee,
)
from matching.programs import DEFAULT_PROGRAM, Approval, ProgramStatus, require_program
from matching.store import candidate_key, match_profile

router = APIRouter(tags=["requests and proposals"])


async def _mentee(runtime: ServiceRuntime, org_id: str, person_id: str) -> Document:
    document = await runtime.db["candidates"].find_one({"_id": candidate_key(org_id, person_id, "mentee")})
    if document is None or document.get("status") == "erased":
        raise Problem(404, "Not Found", f"{person_id} is not registered as a mentee")
    return document


def _seat(view: OrgView, person_id: str, focus: str | None) -> Document:
    """The caller's seat: their own mentee document, or the one for `focus` (a program that gives
    one mentor per focus area)."""
    own = view.mentee(person_id)
    if own is None or own.get("status") == "erased":
        raise Problem(404, "Not Found", f"{person_id} is not registered as a mentee")
    if focus is None:
        return own
    for seat in view.seats_of(person_id):
        if seat.get("focus") == focus:
            return seat
    raise Problem(
        422,
        "Unprocessable Content",
        f"you have no focus area {focus!r} in this program",
        extensions={"field": "focus"},
    )


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
)
async def join(
    request: Request,
    principal: CurrentPrincipal,
    body: JoinIn,
    program_id: str = Path(min_length=1, max_length=64),
) -> JoinOut:
    person_id = body.person_id or principal.employee_id
    forbid_unless(person_id == principal.employee_id or principal.is_admin, "enrol another person")
    runtime: ServiceRuntime = request.app.state.runtime
    program = await require_program(runtime, principal.org_id, program_id)
    if program.status is not ProgramStatus.OPEN:
        raise Problem(409, "Conflict", f"program {program_id!r} is closed")
    if not program.admits(person_id, "mentee"):
        raise Problem(
            403, "Forbidden", f"program {program_id!r} is by invitation and {person_id} is not enrolled"
        )
    mentee = await _mentee(runtime, principal.org_id, person_id)
    if mentee.get("status") not in (WAITING, "ended"):
        raise Problem(409, "Conflict", f"{person_id} has a mentor or an open request or proposal now")
    if not await rejoin(runtime, mentee, program_id):
        raise Problem(409, "Conflict", "the mentee changed meanwhile; retry")
    view = await org_view(runtime, principal.org_id)
    if (joined := view.mentee(person_id)) is not None:
        await seat_mentee(runtime, view, program, joined)
    if program.continuous:
        await match_continuously(runtime, principal.org_id)
    current = await _mentee(runtime, principal.org_id, person_id)
    return JoinOut(person_id=person_id, program_id=program_id, status=current["status"])


class SuggestionOut(BaseModel):
    mentor_id: str
    score: float
    breakdown: dict[str, float]
    reasons: list[str]


@router.get("/suggestions", response_model=list[SuggestionOut], summary="The caller's best mentors, with why")
async def suggestions(
    request: Request,
    principal: CurrentPrincipal,
    limit: int = Query(default=10, ge=1, le=50),
    focus: str | None = Query(default=None, max_length=100, description="One of the caller's focus areas."),
) -> list[SuggestionOut]:
    runtime: ServiceRuntime = request.app.state.runtime
    view = await org_view(runtime, principal.org_id)
    mentee = _seat(view, principal.employee_id, focus)
    program = await require_program(runtime, principal.org_id, mentee.get("program_id", DEFAULT_PROGRAM))
    found = suggestions_for(view, program, mentee, runtime.clock.now(), limit)
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


def _hold_out(document: Document) -> HoldOut:
    return HoldOut(mentee_id=document["person_id"], **document["hold"])


@router.post(
    "/requests", response_model=HoldOut, status_code=201, summary="Ask a mentor (the caller as mentee)"
)
async def create_request(request: Request, principal: CurrentPrincipal, body: RequestIn) -> HoldOut:
    runtime: ServiceRuntime = request.app.state.runtime
    view = await org_view(runtime, principal.org_id)
    mentee = _seat(view, principal.employee_id, body.focus)
    if mentee.get("status") == "ended":
        raise Problem(
            409, "Conflict", "your last pair has ended: join a program (POST /programs/{id}/join) first"
        )
    if mentee.get("status") != WAITING:
        raise Problem(409, "Conflict", "you have a mentor or an open request or proposal already")
    program = await require_program(runtime, principal.org_id, mentee.get("program_id", DEFAULT_PROGRAM))
    if program.status is not ProgramStatus.OPEN:
        raise Problem(409, "Conflict", f"program {program.program_id!r} is closed")
    mentor = view.mentors.get(body.mentor_id)
    if mentor is None or not program.admits(body.mentor_id, "mentor"):
        raise Problem(
            422, "Unprocessable Content", f"{body.mentor_id} is not a mentor in this program",
            extensions={"field": "mentor_id"},
        )  # fmt: skip
    now = runtime.clock.now()
    mentor_profile = next(p for p in view.mentor_profiles(program, now) if p.person_id == body.mentor_id)
    reason = why_not(
        program.policy(), match_profile(mentee, now), mentor_profile, managers=view.managers,
        excluded_mentors=view.excluded_for(mentee),
    )  # fmt: skip
    if reason is not None:
        raise Problem(
            422,
            "Unprocessable Content",
            f"cannot ask {body.mentor_id}: {reason}",
            extensions={"field": "mentor_id"},
        )
    ranked = suggestions_for(view, program, mentee, now, limit=len(view.mentors))
    explanation = next(s for s in ranked if s.mentor_id == body.mentor_id)
    made = await offer(
        runtime, program, mentee, as_match(explanation), approval=Approval.MENTOR, message=body.message
    )
    if made is None:
        raise Problem(409, "Conflict", f"{body.mentor_id} has no free place now, or your status changed")
    stored = await runtime.db["candidates"].find_one({"_id": mentee["_id"]})
    assert stored is not None
    return _hold_out(stored)


@router.get(
    "/requests", response_model=list[HoldOut], summary="Open requests: the caller's own and those to them"
)
async def list_requests(request: Request, principal: CurrentPrincipal) -> list[HoldOut]:
    runtime: ServiceRuntime = request.app.state.runtime
    query = {
        "org_id": principal.org_id,
        "role": "mentee",
        "status": HELD,
        "hold.kind": REQUEST,
        "$or": [{"person_id": principal.employee_id}, {"hold.mentor_id": principal.employee_id}],
    }
    return [_hold_out(doc) async for doc in runtime.db["candidates"].find(query, limit=200)]


async def _held(
    runtime: ServiceRuntime, principal: Principal, hold_id: str, kind: str, *, answered_by: str | None
) -> Document:
    """The open request or proposal; 404 unless `answered_by` ("mentor" or "mentee") names the
    caller's side of it (None: admins, checked by the route)."""
    document = await runtime.db["candidates"].find_one(
        {"org_id": principal.org_id, "role": "mentee", "status": HELD, "hold.id": hold_id, "hold.kind": kind}
    )
    side = {"mentor": document["hold"]["mentor_id"], "mentee": document["person_id"]} if document else {}
    if document is None or (answered_by is not None and side[answered_by] != principal.employee_id):
        raise Problem(404, "Not Found", f"no open {kind} {hold_id}")
    return document


class AnswerOut(BaseModel):
    id: str
    outcome: str
    pair_id: str | None = None


async def _pair(runtime: ServiceRuntime, principal: Principal, document: Document) -> AnswerOut:
    program = await require_program(runtime, principal.org_id, document["hold"]["program_id"])
    pair_id = await accept_hold(runtime, program, document)
    if pair_id is None:
        raise Problem(
            409,
            "Conflict",
            f"the {document['hold']['kind']} changed meanwhile (withdrawn, expired or answered)",
        )
    return AnswerOut(id=document["hold"]["id"], outcome="paired", pair_id=pair_id)


async def _drop(runtime: ServiceRuntime, principal: Principal, document: Document, reason: str) -> AnswerOut:
    if not await drop_hold(runtime, document, reason):
        raise Problem(
            409,
            "Conflict",
            f"the {document['hold']['kind']} changed meanwhile (withdrawn, expired or answered)",
        )
    await match_continuously(runtime, principal.org_id)  # the mentor's place is free again
    return AnswerOut(id=document["hold"]["id"], outcome=reason)


@router.post(
    "/requests/{request_id}/accept", response_model=AnswerOut, summary="Accept a request (its mentor)"
)
async def accept_request(
    request: Request, principal: CurrentPrincipal, request_id: str = Path(min_length=1, max_length=128)
) -> AnswerOut:
    runtime: ServiceRuntime = request.app.state.runtime
    return await _pair(
        runtime, principal, await _held(runtime, principal, request_id, REQUEST, answered_by="mentor")
    )


@router.post(
    "/requests/{request_id}/decline", response_model=AnswerOut, summary="Decline a request (its mentor)"
)
async def decline_request(
    request: Request, principal: CurrentPrincipal, request_id: str = Path(min_length=1, max_length=128)
) -> AnswerOut:
    runtime: ServiceRuntime = request.app.state.runtime
    document = await _held(runtime, principal, request_id, REQUEST, answered_by="mentor")
    return await _drop(runtime, principal, document, "declined")


@router.delete("/requests/{request_id}", status_code=204, summary="Withdraw one's own request (its mentee)")
async def withdraw_request(
    request: Request, principal: CurrentPrincipal, request_id: str = Path(min_length=1, max_length=128)
) -> Response:
    runtime: ServiceRuntime = request.app.state.runtime
    document = await _held(runtime, principal, request_id, REQUEST, answered_by="mentee")
    await _drop(runtime, principal, document, "withdrawn")
    return Response(status_code=204)


@router.get("/proposals", response_model=list[HoldOut], summary="Proposals awaiting approval (admins)")
async def list_proposals(
    request: Request,
    principal: CurrentPrincipal,
    program_id: str | None = Query(default=None, max_length=64),
) -> list[HoldOut]:
    forbid_unless(principal.is_admin, "see proposals")
    runtime: ServiceRuntime = request.app.state.runtime
    query: dict[str, Any] = {
        "org_id": principal.org_id,
        "role": "mentee",
        "status": HELD,
        "hold.kind": PROPOSAL,
    }
    if program_id:
        query["hold.program_id"] = program_id
    return [_hold_out(doc) async for doc in runtime.db["candidates"].find(query, limit=1000)]


@router.post(
    "/proposals/{proposal_id}/approve", response_model=AnswerOut, summary="Approve a proposal (admins)"
)
async def approve_proposal(
    request: Request, principal: CurrentPrincipal, proposal_id: str = Path(min_length=1, max_length=128)
) -> AnswerOut:
    forbid_unless(principal.is_admin, "approve proposals")
    runtime: ServiceRuntime = request.app.state.runtime
    return await _pair(
        runtime, principal, await _held(runtime, principal, proposal_id, PROPOSAL, answered_by=None)
    )


@router.post(
    "/proposals/{proposal_id}/reject", response_model=AnswerOut, summary="Reject a proposal (admins)"
)
async def reject_proposal(
    request: Request, principal: CurrentPrincipal, proposal_id: str = Path(min_length=1, max_length=128)
) -> AnswerOut:
    forbid_unless(principal.is_admin, "reject proposals")
    runtime: ServiceRuntime = request.app.state.runtime
    document = await _held(runtime, principal, proposal_id, PROPOSAL, answered_by=None)
    return await _drop(runtime, principal, document, "rejected")
