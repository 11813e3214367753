"""HTTP routes the portal calls: a pair's agreement, sessions (schedule, reschedule, cancel, check
in, iCalendar), agenda, private notes, action items, feedback, goals, the pair's health, and a
program's health for its admins.

Only the pair's members and the org's admins see a pair (anyone else gets 404, so existence does
not leak); only members change it. Bad input is a 4xx problem+json and writes nothing: every check
runs before the single conditional write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from mentorship_schemas import GoalAchieved, SessionCompleted, SessionScheduled
from mentorship_schemas.events import Cadence
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from servicekit.auth import CurrentPrincipal, Principal
from servicekit.ids import derived_id, new_id
from servicekit.problems import Problem
from servicekit.repository import ConcurrentUpdate

from sessions.domain import cadence as cadence_rules
from sessions.domain import health as health_rules
from sessions.domain.attendance import may_check_in
from sessions.domain.calendar import CalendarSession, session_ics
from sessions.relationships import (
    Change,
    NotFound,
    Rejected,
    RelationshipStore,
    cancel_session,
    facts_of,
    find_session,
    new_session,
    participants,
    sign_agreement,
)

router = APIRouter(tags=["sessions"])
Document = dict[str, Any]
Mutation = Callable[[Document, datetime, Change], None]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Title = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- plumbing


def _store(request: Request) -> RelationshipStore:
    store: RelationshipStore = request.app.state.relationships
    return store


async def _visible(request: Request, principal: Principal, pair_id: str) -> Document:
    document = await _store(request).get(pair_id, principal.org_id)
    if document is None or not (principal.employee_id in document["participant_ids"] or principal.is_admin):
        raise Problem(404, "Not Found", "no such pair")  # no existence leak to non-members
    return document


async def _change(
    request: Request, principal: Principal, pair_id: str, mutate: Mutation
) -> tuple[Document, Change]:
    """Run a member's change; 404 for strangers, 403 for admins who are not members."""
    document = await _visible(request, principal, pair_id)
    if principal.employee_id not in document["participant_ids"]:
        raise Problem(403, "Forbidden", "only the pair's members change it")

    def guarded(current: Document, now: datetime, change: Change) -> None:
        if current["status"] != "active":
            raise Problem(409, "Conflict", "the relationship has ended")
        try:
            mutate(current, now, change)
        except NotFound as error:
            raise Problem(404, "Not Found", str(error)) from error
        except Rejected as error:
            raise Problem(409, "Conflict", str(error)) from error
        except cadence_rules.UnknownTimezone as error:
            raise Problem(422, "Invalid request", str(error), extensions={"field": "timezone"}) from error

    try:
        result = await _store(request).change(pair_id, guarded, org_id=principal.org_id)
    except ConcurrentUpdate as error:
        raise Problem(409, "Conflict", "the pair is changing right now; try again") from error
    if result is None:
        raise Problem(404, "Not Found", "no such pair")
    return result


def _invalid(field: str, detail: str) -> Problem:
    return Problem(
        422,
        "Invalid request",
        detail,
        type_="https://mentorship.example/problems/invalid-request",
        extensions={"errors": [{"field": field, "location": "body", "message": detail}]},
    )


def _future_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise _invalid("starts_at", "a session cannot start in the past")
    if ends_at <= starts_at:
        raise _invalid("ends_at", "a session must end after it starts")
    if ends_at - starts_at > timedelta(hours=12):
        raise _invalid("ends_at", "a session lasts at most 12 hours")


def _member(document: Document, person: str, field: str) -> None:
    if person not in document["participant_ids"]:
        raise _invalid(field, f"{person!r} is not in this pair")


# ---------------------------------------------------------------- the pair and its agreement


class AgreementIn(Strict):
    goals: list[Title] = Field(default_factory=list, max_length=20)
    roles: dict[str, Annotated[str, Field(max_length=100)]] = Field(default_factory=dict)
    cadence: Cadence = Cadence.MONTHLY
    ends_on: AwareDatetime | None = None
    starts_on: AwareDatetime | None = None
    boundaries: Annotated[str, Field(max_length=2000)] | None = None
    channel: Annotated[str, Field(max_length=100)] | None = None
    modality: Annotated[str, Field(pattern="^(in_person|remote|hybrid)$")] | None = None
    meeting_link: Annotated[str, Field(max_length=500)] | None = None
    timezone: str = Field(default="UTC", description="IANA timezone the recurring slot is kept in.")
    timezones: dict[str, str] = Field(default_factory=dict, description="Each participant's IANA timezone.")
    local_time: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    weekday: int | None = Field(default=None, ge=0, le=6, description="Monday = 0.")
    duration_minutes: int = Field(default=60, ge=15, le=480)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        cadence_rules.zone(value)
        return value

    @field_validator("timezones")
    @classmethod
    def _known_timezones(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value.values():
            cadence_rules.zone(name)
        return value


class SignIn(Strict):
    timezone: str | None = Field(default=None, description="The signer's IANA timezone.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            cadence_rules.zone(value)
        return value


def _pair_out(document: Document, principal: Principal) -> Document:
    return {
        "pair_id": document["_id"],
        "program_id": document["program_id"],
        "kind": document["kind"],
        "status": document["status"],
        "participant_ids": document["participant_ids"],
        "mentor_id": document.get("mentor_id"),
        "mentee_id": document.get("mentee_id"),
        "agreement": _agreement_out(document),
        "health": _health_out(document),
        "version": document["version"],
    }


def _agreement_out(document: Document) -> Document:
    agreement = {k: v for k, v in document["agreement"].items() if k != "series"}
    agreement["signed_by"] = sorted(agreement.pop("signatures", {}))
    return agreement


def _health_out(document: Document) -> Document:
    health = document.get("health", {})
    return {
        "stagnant": bool(health.get("episode_open")),
        "episode_id": health.get("episode_id") if health.get("episode_open") else None,
        "reasons": health.get("reasons", []),
        "severity": health.get("severity"),
        "suggested_actions": health.get("suggested_actions", []),
        "assessed_at": health.get("assessed_at"),
        "episodes": health.get("episodes", 0),
    }


@router.get("/pairs/{pair_id}", summary="A pair: members, agreement and health")
async def get_pair(pair_id: str, request: Request, principal: CurrentPrincipal) -> Document:
    return _pair_out(await _visible(request, principal, pair_id), principal)


@router.get("/pairs/{pair_id}/agreement", summary="The pair's agreement")
async def get_agreement(pair_id: str, request: Request, principal: CurrentPrincipal) -> Document:
    return _agreement_out(await _visible(request, principal, pair_id))


@router.put("/pairs/{pair_id}/agreement", summary="Change the draft agreement (clears signatures)")
async def put_agreement(
    pair_id: str, body: AgreementIn, request: Request, principal: CurrentPrincipal
) -> Document:
    def draft(document: Document, now: datetime, change: Change) -> None:
        agreement = document["agreement"]
        if agreement.get("signed_at"):
            raise Rejected("the agreement is signed; agree on changes in a new agreement")
        for person in list(body.roles) + list(body.timezones):
            _member(document, person, "roles" if person in body.roles else "timezones")
        if body.ends_on is not None and body.ends_on <= max(now, body.starts_on or now):
            raise _invalid("ends_on", "the agreement must end after it starts")
        agreement.update(body.model_dump(exclude={"timezones"}))
        agreement["timezones"] = {**agreement["timezones"], **body.timezones}
        agreement.update(revision=agreement["revision"] + 1, signatures={})

    document, _ = await _change(request, principal, pair_id, draft)
    return _agreement_out(document)


@router.post(
    "/pairs/{pair_id}/agreement/sign", summary="Sign the agreement; when all have -> AgreementSigned"
)
async def sign(pair_id: str, body: SignIn, request: Request, principal: CurrentPrincipal) -> Document:
    def signing(document: Document, now: datetime, change: Change) -> None:
        if body.timezone:
            document["agreement"]["timezones"][principal.employee_id] = body.timezone
        sign_agreement(document, principal.employee_id, now, change)

    document, _ = await _change(request, principal, pair_id, signing)
    return _agreement_out(document)


# ---------------------------------------------------------------- sessions


class SessionOut(BaseModel):
    session_id: str
    pair_id: str
    participant_ids: list[str]
    kind: str
    starts_at: datetime
    ends_at: datetime
    status: str
    location: str | None = None
    facilitator_id: str | None = None
    local_times: dict[str, dict[str, str]] = Field(default_factory=dict)
    agenda: list[dict[str, Any]] = Field(default_factory=list)
    held_at: datetime | None = None
    held_by: str | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    missed_in_a_row: int | None = None
    my_feedback: dict[str, Any] | None = None
    feedback_from: list[str] = Field(default_factory=list)
    version: int


def _session_out(document: Document, session: Document, principal: Principal) -> SessionOut:
    feedback = session.get("feedback", {})
    return SessionOut(
        session_id=session["session_id"],
        pair_id=document["_id"],
        participant_ids=document["participant_ids"],
        kind=session["kind"],
        starts_at=session["starts_at"],
        ends_at=session["ends_at"],
        status=session["status"],
        location=session.get("location"),
        facilitator_id=session.get("facilitator_id"),
        local_times=cadence_rules.local_times(
            session["starts_at"], session["ends_at"], document["agreement"]["timezones"]
        ),
        agenda=session["agenda"],
        held_at=session.get("held_at"),
        held_by=session.get("held_by"),
        cancelled_by=session.get("cancelled_by"),
        cancel_reason=session.get("cancel_reason"),
        missed_in_a_row=session.get("missed_in_a_row"),
        my_feedback=feedback.get(principal.employee_id),  # feedback text is private to its author
        feedback_from=sorted(feedback),
        version=session["version"],
    )


class SessionIn(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    location: Annotated[str, Field(max_length=500)] | None = None


class RescheduleIn(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, Field(max_length=500)] | None = None


class CancelIn(Strict):
    reason: Annotated[str, Field(max_length=500)] | None = None


class AgendaIn(Strict):
    text: Title


class FeedbackIn(Strict):
    useful: bool
    learned: bool
    thanks: bool = False
    text: Annotated[str, Field(max_length=2000)] | None = None


@router.get("/pairs/{pair_id}/sessions", response_model=list[SessionOut], summary="A pair's sessions")
async def list_sessions(pair_id: str, request: Request, principal: CurrentPrincipal) -> list[SessionOut]:
    document = await _visible(request, principal, pair_id)
    ordered = sorted(document["sessions"], key=lambda s: s["starts_at"])
    return [_session_out(document, session, principal) for session in ordered]


@router.post(
    "/pairs/{pair_id}/sessions", response_model=SessionOut, status_code=201, summary="Schedule a session"
)
async def schedule_session(
    pair_id: str, body: SessionIn, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    session_id = new_id()

    def schedule(document: Document, now: datetime, change: Change) -> None:
        _future_window(body.starts_at, body.ends_at, now)
        new_session(
            document, session_id, "extra", body.starts_at, body.ends_at, change, location=body.location
        )

    document, _ = await _change(request, principal, pair_id, schedule)
    return _session_out(document, find_session(document, session_id), principal)


@router.get("/pairs/{pair_id}/sessions/{session_id}", response_model=SessionOut, summary="One session")
async def get_session(
    pair_id: str, session_id: str, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    document = await _visible(request, principal, pair_id)
    try:
        return _session_out(document, find_session(document, session_id), principal)
    except NotFound as error:
        raise Problem(404, "Not Found", "no such session") from error


@router.get(
    "/pairs/{pair_id}/sessions/{session_id}/calendar.ics",
    summary="The session as iCalendar (RFC 5545)",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def session_calendar(
    pair_id: str, session_id: str, request: Request, principal: CurrentPrincipal
) -> Response:
    document = await _visible(request, principal, pair_id)
    try:
        session = find_session(document, session_id)
    except NotFound as error:
        raise Problem(404, "Not Found", "no such session") from error
    goals = document["agreement"].get("goals") or []
    text = session_ics(
        CalendarSession(
            session_id=session_id,
            summary="Mentoring session" if document["kind"] == "pair" else "Mentoring circle",
            starts_at=session["starts_at"],
            ends_at=session["ends_at"],
            stamp=request.app.state.runtime.clock.now(),
            sequence=session["sequence"],
            cancelled=session["status"] == "cancelled",
            location=session.get("location"),
            description=("Goals: " + "; ".join(goals)) if goals else None,
            attendees=document["participant_ids"],
        )
    )
    return Response(text, media_type="text/calendar; charset=utf-8")


def _held(session_id: str, principal: Principal) -> Mutation:
    def check_in(document: Document, now: datetime, change: Change) -> None:
        session = find_session(document, session_id)
        if session["status"] == "held":
            return  # checking in twice is harmless
        if not may_check_in(session["status"], session["starts_at"], now):
            raise Rejected(f"a {session['status']} session that has not started cannot be checked in")
        session.update(
            status="held", held_at=now, held_by=principal.employee_id, version=session["version"] + 1
        )
        change.emit(
            SessionCompleted(
                org_id=document["org_id"],
                version=session["version"],
                session_id=session_id,
                pair_id=document["_id"],
                participant_ids=participants(document),
                starts_at=session["starts_at"],
                held_at=now,
            ),
            derived_id(session_id, "held"),
        )

    return check_in


@router.post(
    "/pairs/{pair_id}/sessions/{session_id}/held", response_model=SessionOut, summary="Check in: held"
)
async def mark_held(
    pair_id: str, session_id: str, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    document, _ = await _change(request, principal, pair_id, _held(session_id, principal))
    return _session_out(document, find_session(document, session_id), principal)


@router.post("/sessions/{session_id}/held", response_model=SessionOut, summary="Check in by session id alone")
async def mark_held_by_session(session_id: str, request: Request, principal: CurrentPrincipal) -> SessionOut:
    owner = await _store(request).relationships.find_one(
        {"org_id": principal.org_id, "sessions.session_id": session_id}, {"_id": 1}
    )
    if owner is None:
        raise Problem(404, "Not Found", "no such session")
    return await mark_held(owner["_id"], session_id, request, principal)


@router.post("/pairs/{pair_id}/sessions/{session_id}/cancel", response_model=SessionOut, summary="Cancel")
async def cancel(
    pair_id: str, session_id: str, body: CancelIn, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    def cancelling(document: Document, now: datetime, change: Change) -> None:
        session = find_session(document, session_id)
        if session["status"] != "scheduled":
            raise Rejected(f"the session is {session['status']}")
        cancel_session(document, session, principal.employee_id, body.reason, now, change)

    document, _ = await _change(request, principal, pair_id, cancelling)
    return _session_out(document, find_session(document, session_id), principal)


@router.post(
    "/pairs/{pair_id}/sessions/{session_id}/reschedule", response_model=SessionOut, summary="Reschedule"
)
async def reschedule(
    pair_id: str, session_id: str, body: RescheduleIn, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    def moving(document: Document, now: datetime, change: Change) -> None:
        session = find_session(document, session_id)
        if session["status"] != "scheduled":
            raise Rejected(f"the session is {session['status']}")
        _future_window(body.starts_at, body.ends_at, now)
        session["reschedules"].append(
            {
                "by": principal.employee_id,
                "reason": body.reason,
                "at": now,
                "from": session["starts_at"],
                "to": body.starts_at,
            }
        )
        session.update(
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            version=session["version"] + 1,
            sequence=session["sequence"] + 1,
        )
        change.emit(
            SessionScheduled(
                org_id=document["org_id"],
                version=session["version"],
                session_id=session_id,
                pair_id=document["_id"],
                participant_ids=participants(document),
                starts_at=body.starts_at,
                ends_at=body.ends_at,
            ),
            derived_id(session_id, "scheduled", str(session["sequence"])),
        )
        change.session_due.append(session)

    document, _ = await _change(request, principal, pair_id, moving)
    return _session_out(document, find_session(document, session_id), principal)


@router.post("/pairs/{pair_id}/sessions/{session_id}/agenda", response_model=SessionOut, status_code=201)
async def add_agenda_item(
    pair_id: str, session_id: str, body: AgendaIn, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    """Add an agenda item before the session (be prepared)."""
    item_id = new_id()

    def adding(document: Document, now: datetime, change: Change) -> None:
        session = find_session(document, session_id)
        if session["status"] != "scheduled" or session["ends_at"] <= now:
            raise Rejected("agenda items are added before the session")
        session["agenda"].append(
            {"item_id": item_id, "text": body.text, "author_id": principal.employee_id, "added_at": now}
        )

    document, _ = await _change(request, principal, pair_id, adding)
    return _session_out(document, find_session(document, session_id), principal)


@router.put(
    "/pairs/{pair_id}/sessions/{session_id}/feedback", response_model=SessionOut, summary="My feedback"
)
async def give_feedback(
    pair_id: str, session_id: str, body: FeedbackIn, request: Request, principal: CurrentPrincipal
) -> SessionOut:
    def giving(document: Document, now: datetime, change: Change) -> None:
        session = find_session(document, session_id)
        if session["status"] != "held":
            raise Rejected("feedback is given after a held session")
        session.setdefault("feedback", {})[principal.employee_id] = {**body.model_dump(), "at": now}

    document, _ = await _change(request, principal, pair_id, giving)
    return _session_out(document, find_session(document, session_id), principal)


# ---------------------------------------------------------------- private notes


class NoteIn(Strict):
    text: Text
    session_id: str | None = None


@router.post("/pairs/{pair_id}/notes", status_code=201, summary="A private note (only its author reads it)")
async def add_note(pair_id: str, body: NoteIn, request: Request, principal: CurrentPrincipal) -> Document:
    document = await _visible(request, principal, pair_id)
    if principal.employee_id not in document["participant_ids"]:
        raise Problem(403, "Forbidden", "only the pair's members keep notes")
    if body.session_id is not None:
        try:
            find_session(document, body.session_id)
        except NotFound as error:
            raise _invalid("session_id", "no such session in this pair") from error
    note = {
        "_id": new_id(),
        "org_id": principal.org_id,
        "pair_id": pair_id,
        "session_id": body.session_id,
        "author_id": principal.employee_id,
        "text": body.text,
        "created_at": request.app.state.runtime.clock.now(),
    }
    await request.app.state.notes.insert_one(note)
    return {"note_id": note.pop("_id"), **{k: v for k, v in note.items() if k != "org_id"}}


@router.get("/pairs/{pair_id}/notes", summary="My private notes on this pair")
async def my_notes(pair_id: str, request: Request, principal: CurrentPrincipal) -> list[Document]:
    await _visible(request, principal, pair_id)
    cursor = request.app.state.notes.find(
        {"org_id": principal.org_id, "pair_id": pair_id, "author_id": principal.employee_id},
        sort=[("created_at", 1)],
        limit=500,
    )
    return [
        {"note_id": n["_id"], "session_id": n["session_id"], "text": n["text"], "created_at": n["created_at"]}
        async for n in cursor
    ]


# ---------------------------------------------------------------- action items and goals


class ActionItemIn(Strict):
    title: Title
    owner_id: str = Field(min_length=1, max_length=128)
    due_at: AwareDatetime
    session_id: str | None = None


class GoalIn(Strict):
    title: Title
    milestones: list[Title] = Field(default_factory=list, max_length=20)


class ProgressIn(Strict):
    progress: int = Field(ge=0, le=100)


@router.post(
    "/pairs/{pair_id}/action-items", status_code=201, summary="An action item with owner and due date"
)
async def add_action_item(
    pair_id: str, body: ActionItemIn, request: Request, principal: CurrentPrincipal
) -> Document:
    item_id = new_id()

    def adding(document: Document, now: datetime, change: Change) -> None:
        _member(document, body.owner_id, "owner_id")
        if body.due_at <= now:
            raise _invalid("due_at", "an action item cannot be due in the past")
        if body.session_id is not None:
            find_session(document, body.session_id)
        item = {
            "item_id": item_id,
            "title": body.title,
            "owner_id": body.owner_id,
            "due_at": body.due_at,
            "session_id": body.session_id,
            "status": "open",
            "created_at": now,
            "created_by": principal.employee_id,
            "done_at": None,
            "version": 1,
        }
        document["action_items"].append(item)
        change.action_due.append(item)

    document, _ = await _change(request, principal, pair_id, adding)
    return next(i for i in document["action_items"] if i["item_id"] == item_id)


@router.get("/pairs/{pair_id}/action-items", summary="The pair's action items")
async def list_action_items(pair_id: str, request: Request, principal: CurrentPrincipal) -> list[Document]:
    return list((await _visible(request, principal, pair_id))["action_items"])


@router.post("/pairs/{pair_id}/action-items/{item_id}/done", summary="Mark an action item done")
async def action_item_done(
    pair_id: str, item_id: str, request: Request, principal: CurrentPrincipal
) -> Document:
    def finishing(document: Document, now: datetime, change: Change) -> None:
        for item in document["action_items"]:
            if item["item_id"] == item_id:
                if item["status"] != "done":
                    item.update(status="done", done_at=now, version=item["version"] + 1)
                return
        raise NotFound("no such action item")

    document, _ = await _change(request, principal, pair_id, finishing)
    return next(i for i in document["action_items"] if i["item_id"] == item_id)


def _achieve_if_reached(document: Document, goal: Document, now: datetime, change: Change) -> None:
    milestones = goal["milestones"]
    reached = goal["progress"] >= 100 or (milestones and all(m.get("done_at") for m in milestones))
    if reached and not goal.get("achieved_at"):
        goal.update(achieved_at=now, progress=100, version=goal["version"] + 1)
        change.emit(
            GoalAchieved(
                org_id=document["org_id"],
                version=goal["version"],
                goal_id=goal["goal_id"],
                pair_id=document["_id"],
                participant_ids=participants(document),
                title=goal["title"],
            ),
            derived_id(goal["goal_id"], "achieved"),
        )


def _find_goal(document: Document, goal_id: str) -> Document:
    for goal in document["goals"]:
        if goal["goal_id"] == goal_id:
            return goal  # type: ignore[no-any-return]
    raise NotFound("no such goal")


@router.post("/pairs/{pair_id}/goals", status_code=201, summary="A goal with milestones")
async def add_goal(pair_id: str, body: GoalIn, request: Request, principal: CurrentPrincipal) -> Document:
    goal_id = new_id()

    def adding(document: Document, now: datetime, change: Change) -> None:
        document["goals"].append(
            {
                "goal_id": goal_id,
                "title": body.title,
                "milestones": [
                    {"milestone_id": new_id(), "title": t, "done_at": None} for t in body.milestones
                ],
                "progress": 0,
                "progress_at": [],
                "achieved_at": None,
                "created_at": now,
                "version": 1,
            }
        )

    document, _ = await _change(request, principal, pair_id, adding)
    return _find_goal(document, goal_id)


@router.get("/pairs/{pair_id}/goals", summary="The pair's goals and milestones")
async def list_goals(pair_id: str, request: Request, principal: CurrentPrincipal) -> list[Document]:
    return list((await _visible(request, principal, pair_id))["goals"])


@router.post("/pairs/{pair_id}/goals/{goal_id}/milestones/{milestone_id}/done", summary="A milestone reached")
async def milestone_done(
    pair_id: str, goal_id: str, milestone_id: str, request: Request, principal: CurrentPrincipal
) -> Document:
    def reaching(document: Document, now: datetime, change: Change) -> None:
        goal = _find_goal(document, goal_id)
        milestone = next((m for m in goal["milestones"] if m["milestone_id"] == milestone_id), None)
        if milestone is None:
            raise NotFound("no such milestone")
        if milestone["done_at"] is None:
            milestone["done_at"] = now
            goal["progress_at"].append(now)
            done = sum(1 for m in goal["milestones"] if m["done_at"])
            goal["progress"] = max(goal["progress"], round(100 * done / len(goal["milestones"])))
            _achieve_if_reached(document, goal, now, change)

    document, _ = await _change(request, principal, pair_id, reaching)
    return _find_goal(document, goal_id)


@router.put("/pairs/{pair_id}/goals/{goal_id}/progress", summary="Set a goal's progress (100 = achieved)")
async def goal_progress(
    pair_id: str, goal_id: str, body: ProgressIn, request: Request, principal: CurrentPrincipal
) -> Document:
    def progressing(document: Document, now: datetime, change: Change) -> None:
        goal = _find_goal(document, goal_id)
        if goal.get("achieved_at"):
            return
        if body.progress > goal["progress"]:
            goal["progress_at"].append(now)
        goal["progress"] = body.progress
        _achieve_if_reached(document, goal, now, change)

    document, _ = await _change(request, principal, pair_id, progressing)
    return _find_goal(document, goal_id)


# ---------------------------------------------------------------- health


@router.get("/pairs/{pair_id}/health", summary="The pair's health, with the reasons")
async def pair_health(pair_id: str, request: Request, principal: CurrentPrincipal) -> Document:
    document = await _visible(request, principal, pair_id)
    store = _store(request)
    now = store.runtime.clock.now()
    current = health_rules.assess(facts_of(document), now, store.policy.health)
    return {
        **_health_out(document),
        "now": {
            "stagnant": current.stagnant,
            "reasons": list(current.reasons),
            "severity": current.severity,
            "suggested_actions": list(current.suggested_actions),
        },
        **_pair_figures(document, now),
    }


def _pair_figures(document: Document, now: datetime) -> Document:
    sessions = document["sessions"]
    held = sum(1 for s in sessions if s["status"] == "held")
    missed = sum(1 for s in sessions if s["status"] == "missed")
    agreement = document["agreement"]
    since = agreement.get("signed_at") or document["started_at"]
    until = document.get("ended_at") or now
    period = cadence_rules.NOMINAL_PERIOD[Cadence(agreement["cadence"])]
    expected = max(1, int((until - since) / period))
    return {
        "sessions_held": held,
        "sessions_missed": missed,
        "cadence_adherence": round(min(1.0, held / expected), 3),
        "goals_achieved": sum(1 for g in document["goals"] if g.get("achieved_at")),
    }


@router.get("/programs/{program_id}/health", summary="A program's health, for its admins (paginated)")
async def program_health(
    program_id: str,
    request: Request,
    principal: CurrentPrincipal,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    at_risk: Annotated[bool | None, Query(description="Only pairs at risk (true) or not (false).")] = None,
    status: Annotated[str | None, Query(pattern="^(active|ended)$")] = None,
) -> Document:
    if not principal.is_admin:
        raise Problem(403, "Forbidden", "only program admins see a program's health")
    store = _store(request)
    now = store.runtime.clock.now()
    query: Document = {"org_id": principal.org_id, "program_id": program_id}
    if status is not None:
        query["status"] = status
    if at_risk is not None:
        query["health.episode_open"] = at_risk
    projection = {"outbox": 0}
    rows = []
    totals = {"pairs": 0, "pairs_active": 0, "sessions_held": 0, "sessions_missed": 0, "pairs_at_risk": 0}
    totals["goals_achieved"] = 0
    adherence = []
    async for document in store.relationships.find(query, projection, sort=[("_id", 1)]):
        figures = _pair_figures(document, now)
        totals["pairs"] += 1
        totals["pairs_active"] += document["status"] == "active"
        totals["pairs_at_risk"] += bool(document.get("health", {}).get("episode_open"))
        totals["sessions_held"] += figures["sessions_held"]
        totals["sessions_missed"] += figures["sessions_missed"]
        totals["goals_achieved"] += figures["goals_achieved"]
        adherence.append(figures["cadence_adherence"])
        if (page - 1) * page_size <= totals["pairs"] - 1 < page * page_size:
            rows.append(
                {
                    "pair_id": document["_id"],
                    "kind": document["kind"],
                    "status": document["status"],
                    "participant_ids": document["participant_ids"],
                    "health": _health_out(document),
                    **figures,
                }
            )
    return {
        "program_id": program_id,
        "totals": {
            **totals,
            "cadence_adherence": round(sum(adherence) / len(adherence), 3) if adherence else None,
        },
        "page": page,
        "page_size": page_size,
        "items": rows,
    }
