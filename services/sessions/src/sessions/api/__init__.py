"""HTTP routes the portal calls: a pair's agreement, sessions (schedule, reschedule, cancel, check
in, iCalendar), agenda, private notes, action items, feedback, goals, the pair's health, and a
program's health for its admins. Each route translates: request -> use case -> response model.

Only the pair's members and the org's admins see a pair (anyone else gets 404, so existence does
not leak); only members change it. Bad input is a 4xx problem+json and writes nothing: every check
runs before the single conditional write.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from sessions.api import goals, notes, pairs, sessions
from sessions.api.errors import install_error_answers
from sessions.use_cases import SessionsContext

router = APIRouter()
for part in (pairs, sessions, notes, goals):
    router.include_router(part.router)


def install(app: FastAPI, context: SessionsContext) -> None:
    """Give the routes their use-case context and answer the use cases' refusals as problems."""
    app.state.sessions = context
    install_error_answers(app)
