"""Mentoring circles: an admin forms the circles of a circles program from the mentees waiting in
it (similar career stage, departments mixed, wanted topics covered, a facilitator rota), each
announced by CircleFormed.

Without transactions a circle is formed in two steps: claim every member (waiting -> in_circle,
each member document carrying the whole circle), then insert the circle with CircleFormed in its
outbox. If a member is claimed by something else meanwhile, the members already claimed are let go
and that circle is not formed. If the process dies between the steps, the next run finds members
whose circle is missing and inserts it from what they carry. Circle ids are derived from the
program and the members, so a replay forms the same circle once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from mentorship_schemas import CircleFormed
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError
from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.ids import derived_id
from servicekit.outbox import new_document
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from matching.domain.circles import Circle, form_circles
from matching.domain.programs import ProgramType
from matching.pool import WAITING, Document, org_view
from matching.programs import Program, require_program
from matching.store import match_profile

CIRCLES = "circles"
IN_CIRCLE = "in_circle"


def _circle_record(program: Program, circle: Circle, now: datetime) -> Document:
    circle_id = derived_id(program.org_id, program.program_id, *circle.member_ids, "circle")
    return {
        "circle_id": circle_id,
        "org_id": program.org_id,
        "program_id": program.program_id,
        "member_ids": list(circle.member_ids),
        "facilitator_rota": list(circle.facilitator_rota),
        "topics": list(circle.topics),
        "created_at": now,
    }


async def _announce(runtime: ServiceRuntime, record: Document) -> None:
    event = CircleFormed(
        org_id=record["org_id"],
        version=1,
        circle_id=record["circle_id"],
        program_id=record["program_id"],
        member_ids=record["member_ids"],
        facilitator_rota=record["facilitator_rota"],
        topics=record["topics"],
    )
    try:
        await runtime.db[CIRCLES].insert_one(
            new_document(
                {"_id": record["circle_id"], **record},
                [runtime.entry(event, event_id=derived_id(record["circle_id"], "formed"))],
            )
        )
        runtime.events_written()
    except DuplicateKeyError:
        pass  # formed before: announced once


async def _claim(runtime: ServiceRuntime, members: list[Document], record: Document) -> bool:
    candidates = runtime.db["candidates"]
    claimed: list[Document] = []
    for member in members:
        result = await candidates.update_one(
            {"_id": member["_id"], "status": WAITING, "version": member["version"]},
            {"$set": {"status": IN_CIRCLE, "circle": record}, "$inc": {"version": 1}},
        )
        if result.modified_count != 1:
            for done in claimed:  # let go of those already claimed
                await candidates.update_one(
                    {"_id": done["_id"], "status": IN_CIRCLE, "circle.circle_id": record["circle_id"]},
                    {"$set": {"status": WAITING}, "$unset": {"circle": ""}, "$inc": {"version": 1}},
                )
            return False
        claimed.append(member)
    return True


async def _repair(runtime: ServiceRuntime, program: Program) -> None:
    """Circles whose members were claimed but which were never stored (a crash between the steps)."""
    seen: set[str] = set()
    async for member in runtime.db["candidates"].find(
        {
            "org_id": program.org_id,
            "role": "mentee",
            "status": IN_CIRCLE,
            "circle.program_id": program.program_id,
        }
    ):
        record = member["circle"]
        if record["circle_id"] in seen:
            continue
        seen.add(record["circle_id"])
        if await runtime.db[CIRCLES].find_one({"_id": record["circle_id"]}, projection={"_id": 1}) is None:
            await _announce(runtime, record)


async def form_program_circles(runtime: ServiceRuntime, program: Program) -> tuple[list[Document], list[str]]:
    """Form circles from the mentees waiting in the program; returns (circles formed, still waiting)."""
    await _repair(runtime, program)
    view = await org_view(runtime, program.org_id)
    now = runtime.clock.now()
    waiting = view.waiting_in(program)
    by_id = {doc["person_id"]: doc for doc in waiting}
    circles = form_circles(
        [match_profile(doc, now) for doc in waiting], program.circle_min_size, program.circle_max_size
    )
    formed: list[Document] = []
    for circle in circles:
        record = _circle_record(program, circle, now)
        if await _claim(runtime, [by_id[m] for m in circle.member_ids], record):
            await _announce(runtime, record)
            formed.append(record)
    placed = {m for record in formed for m in record["member_ids"]}
    return formed, sorted(set(by_id) - placed)


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


@router.post(
    "/programs/{program_id}/circles",
    response_model=CircleRunOut,
    status_code=201,
    summary="Form circles from the mentees waiting in a circles program (admins)",
)
async def create_circles(
    request: Request, principal: CurrentPrincipal, program_id: str = Path(min_length=1, max_length=64)
) -> CircleRunOut:
    forbid_unless(principal.is_admin, "form circles")
    runtime: ServiceRuntime = request.app.state.runtime
    program = await require_program(runtime, principal.org_id, program_id)
    if program.type is not ProgramType.CIRCLES:
        raise Problem(422, "Unprocessable Content", f"program {program_id!r} is not a circles program")
    formed, waiting = await form_program_circles(runtime, program)
    return CircleRunOut(
        program_id=program_id, circles=[CircleOut.model_validate(c) for c in formed], waiting=waiting
    )


@router.get(
    "/circles", response_model=list[CircleOut], summary="Circles: the caller's, or a program's (admins)"
)
async def list_circles(
    request: Request,
    principal: CurrentPrincipal,
    program_id: str | None = Query(default=None, max_length=64),
) -> list[Any]:
    runtime: ServiceRuntime = request.app.state.runtime
    query: Document = {"org_id": principal.org_id}
    if program_id:
        query["program_id"] = program_id
    if not principal.is_admin:
        query["member_ids"] = principal.employee_id
    return [doc async for doc in runtime.db[CIRCLES].find(query, limit=1000)]
