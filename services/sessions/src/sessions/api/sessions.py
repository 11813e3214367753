"""Routes on a pair's sessions: list, schedule, move, cancel, check in (also by session id
alone), agenda, feedback, and a session as iCalendar."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sessions.api.bodies import AgendaIn, CancelIn, FeedbackIn, RescheduleIn, SessionIn
from sessions.api.deps import CurrentActor, Sessions
from sessions.api.errors import problems
from sessions.api.views import SessionOut
from sessions.use_cases import members, reports
from sessions.use_cases.members import SessionView

router = APIRouter(tags=["sessions"])
CHANGE_ERRORS = problems(403, 404, 409, 422)


def _shown(view: SessionView, actor_id: str) -> SessionOut:
    relationship, session = view
    return SessionOut.of(relationship, session, actor_id)


@router.get(
    "/pairs/{pair_id}/sessions",
    response_model=list[SessionOut],
    summary="A pair's sessions",
    responses=problems(404, 422),
)
async def list_sessions(pair_id: str, ctx: Sessions, actor: CurrentActor) -> list[SessionOut]:
    return SessionOut.listing(await reports.pair(ctx, actor, pair_id), actor.person_id)


@router.post(
    "/pairs/{pair_id}/sessions",
    response_model=SessionOut,
    status_code=201,
    summary="Schedule a session",
    responses=CHANGE_ERRORS,
)
async def schedule_session(pair_id: str, body: SessionIn, ctx: Sessions, actor: CurrentActor) -> SessionOut:
    window = (body.starts_at, body.ends_at)
    view = await members.schedule_session(ctx, actor, pair_id, window, body.location)
    return _shown(view, actor.person_id)


@router.get(
    "/pairs/{pair_id}/sessions/{session_id}",
    response_model=SessionOut,
    summary="One session",
    responses=problems(404, 422),
)
async def get_session(pair_id: str, session_id: str, ctx: Sessions, actor: CurrentActor) -> SessionOut:
    return _shown(await reports.session(ctx, actor, pair_id, session_id), actor.person_id)


@router.get(
    "/pairs/{pair_id}/sessions/{session_id}/calendar.ics",
    summary="The session as iCalendar (RFC 5545)",
    response_class=Response,
    responses={
        200: {
            "description": "An iCalendar document",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        **problems(404, 422),
    },
)
async def session_calendar(pair_id: str, session_id: str, ctx: Sessions, actor: CurrentActor) -> Response:
    text = await reports.session_calendar(ctx, actor, pair_id, session_id)
    return Response(text, media_type="text/calendar; charset=utf-8")


@router.post(
    "/pairs/{pair_id}/sessions/{session_id}/held",
    response_model=SessionOut,
    summary="Check in: held",
    responses=CHANGE_ERRORS,
)
async def mark_held(pair_id: str, session_id: str, ctx: Sessions, actor: CurrentActor) -> SessionOut:
    return _shown(await members.check_in(ctx, actor, pair_id, session_id), actor.person_id)


@router.post(
    "/sessions/{session_id}/held",
    response_model=SessionOut,
    summary="Check in by session id alone",
    responses=CHANGE_ERRORS,
)
async def mark_held_by_session(session_id: str, ctx: Sessions, actor: CurrentActor) -> SessionOut:
    return _shown(await members.check_in_by_session(ctx, actor, session_id), actor.person_id)


@router.post(
    "/pairs/{pair_id}/sessions/{session_id}/cancel",
    response_model=SessionOut,
    summary="Cancel",
    responses=CHANGE_ERRORS,
)
async def cancel(
    pair_id: str, session_id: str, body: CancelIn, ctx: Sessions, actor: CurrentActor
) -> SessionOut:
    return _shown(await members.cancel_session(ctx, actor, pair_id, session_id, body.reason), actor.person_id)


@router.post(
    "/pairs/{pair_id}/sessions/{session_id}/reschedule",
    response_model=SessionOut,
    summary="Reschedule",
    responses=CHANGE_ERRORS,
)
async def reschedule(
    pair_id: str, session_id: str, body: RescheduleIn, ctx: Sessions, actor: CurrentActor
) -> SessionOut:
    window = (body.starts_at, body.ends_at)
    view = await members.reschedule_session(ctx, actor, pair_id, session_id, window, body.reason)
    return _shown(view, actor.person_id)


@router.post(
    "/pairs/{pair_id}/sessions/{session_id}/agenda",
    response_model=SessionOut,
    status_code=201,
    responses=CHANGE_ERRORS,
)
async def add_agenda_item(
    pair_id: str, session_id: str, body: AgendaIn, ctx: Sessions, actor: CurrentActor
) -> SessionOut:
    """Add an agenda item before the session (be prepared)."""
    view = await members.add_agenda_item(ctx, actor, pair_id, session_id, body.text)
    return _shown(view, actor.person_id)


@router.put(
    "/pairs/{pair_id}/sessions/{session_id}/feedback",
    response_model=SessionOut,
    summary="My feedback",
    responses=CHANGE_ERRORS,
)
async def give_feedback(
    pair_id: str, session_id: str, body: FeedbackIn, ctx: Sessions, actor: CurrentActor
) -> SessionOut:
    view = await members.give_feedback(ctx, actor, pair_id, session_id, body.answers())
    return _shown(view, actor.person_id)
