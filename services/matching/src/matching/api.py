"""HTTP routes the portal calls: a person's pairs (their own, or any in the org for admins)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.runtime import ServiceRuntime

router = APIRouter(prefix="/pairs", tags=["pairs"])


class PairOut(BaseModel):
    pair_id: str
    program_id: str
    mentee_id: str
    mentor_id: str
    score: float
    reasons: list[str]
    created_at: datetime


@router.get("", response_model=list[PairOut], summary="Pairs a person is in")
async def list_pairs(
    request: Request,
    principal: CurrentPrincipal,
    person: str | None = Query(default=None, max_length=128, description="Defaults to the caller."),
    limit: int = Query(default=50, ge=1, le=200),
) -> list[PairOut]:
    person_id = person or principal.employee_id
    forbid_unless(person_id == principal.employee_id or principal.is_admin, "see another person's pairs")
    runtime: ServiceRuntime = request.app.state.runtime
    query = {
        "org_id": principal.org_id,
        "role": "mentee",
        "status": "paired",
        "$or": [{"person_id": person_id}, {"pair.mentor_id": person_id}],
    }
    return [
        PairOut(mentee_id=doc["person_id"], **doc["pair"])
        async for doc in runtime.db["candidates"].find(query, limit=limit)
    ]
