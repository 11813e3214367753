"""HTTP routes the portal calls: a pair's sessions, and checking a session in as held."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from servicekit.auth import CurrentPrincipal, Principal
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

router = APIRouter(tags=["sessions"])


class SessionOut(BaseModel):
    session_id: str
    pair_id: str
    participant_ids: list[str]
    starts_at: datetime
    ends_at: datetime
    status: str
    version: int


def _out(doc: dict[str, Any]) -> SessionOut:
    return SessionOut(session_id=doc["_id"], **{k: doc[k] for k in SessionOut.model_fields if k in doc})


async def _visible_pair(runtime: ServiceRuntime, principal: Principal, pair_id: str) -> dict[str, Any]:
    pair = await runtime.db["relationships"].find_one({"_id": pair_id, "org_id": principal.org_id})
    member = pair is not None and principal.employee_id in (pair["mentor_id"], pair["mentee_id"])
    if pair is None or not (member or principal.is_admin):
        raise Problem(404, "Not Found", "no such pair")  # no existence leak to non-members
    return pair


@router.get("/pairs/{pair_id}/sessions", response_model=list[SessionOut], summary="A pair's sessions")
async def list_sessions(pair_id: str, request: Request, principal: CurrentPrincipal) -> list[SessionOut]:
    runtime: ServiceRuntime = request.app.state.runtime
    await _visible_pair(runtime, principal, pair_id)
    cursor = runtime.db["sessions"].find(
        {"org_id": principal.org_id, "pair_id": pair_id}, sort=[("starts_at", 1)], limit=500
    )
    return [_out(doc) async for doc in cursor]


@router.post("/sessions/{session_id}/held", response_model=SessionOut, summary="Check a session in as held")
async def mark_held(session_id: str, request: Request, principal: CurrentPrincipal) -> SessionOut:
    runtime: ServiceRuntime = request.app.state.runtime
    sessions = runtime.db["sessions"]
    session = await sessions.find_one({"_id": session_id, "org_id": principal.org_id})
    if session is None or principal.employee_id not in session["participant_ids"]:
        raise Problem(404, "Not Found", "no such session")
    if session["status"] != "scheduled":
        raise Problem(409, "Conflict", f"the session is already {session['status']}")
    result = await sessions.update_one(
        {"_id": session_id, "status": "scheduled", "version": session["version"]},
        {
            "$set": {
                "status": "held",
                "version": session["version"] + 1,
                "held_at": runtime.clock.now(),
            }
        },
    )
    if result.modified_count != 1:
        raise Problem(409, "Conflict", "the session changed meanwhile; read it again")
    updated = await sessions.find_one({"_id": session_id})
    assert updated is not None
    return _out(updated)
