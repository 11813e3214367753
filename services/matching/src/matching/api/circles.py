"""HTTP routes for mentoring circles: admins form a circles program's circles; people see theirs."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.formed_circle import FormedCircle
from matching.use_cases import circles

router = APIRouter(tags=["circles"])


class CircleOut(BaseModel):
    circle_id: str
    program_id: str
    member_ids: list[str]
    facilitator_rota: list[str]
    topics: list[str]
    created_at: datetime


class CircleRunOut(BaseModel):
    program_id: str
    circles: list[CircleOut]
    waiting: list[str]


def _out(circle: FormedCircle) -> CircleOut:
    return CircleOut.model_validate(circle.model_dump())


@router.post(
    "/programs/{program_id}/circles",
    response_model=CircleRunOut,
    status_code=201,
    summary="Form circles from the mentees waiting in a circles program (admins)",
    responses=problems(403, 404, 422),
)
async def create_circles(
    matching: MatchingDep, caller: CallerDep, program_id: str = Path(min_length=1, max_length=64)
) -> CircleRunOut:
    forbid_unless(caller.is_admin, "form circles")
    formed, waiting = await circles.form_program_circles(matching, caller.org_id, program_id)
    return CircleRunOut(program_id=program_id, circles=[_out(c) for c in formed], waiting=waiting)


@router.get(
    "/circles", response_model=list[CircleOut], summary="Circles: the caller's, or a program's (admins)"
)
async def list_circles(
    matching: MatchingDep, caller: CallerDep, program_id: str | None = Query(default=None, max_length=64)
) -> list[CircleOut]:
    return [_out(c) for c in await circles.circles_for(matching, caller, program_id)]
