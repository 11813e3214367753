"""HTTP routes the portal calls: profiles for employees, search and HR import for admins, erasure."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from servicekit.auth import CurrentPrincipal, Principal, Role, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from profiles import people
from profiles.domain.availability import Availability
from profiles.domain.profile import Seniority, Taxonomy
from profiles.hr_import import ImportReport, import_rows, parse_import
from profiles.models import ProfileChanges, ProfileIn, ProfileOut, ProfilePage
from profiles.store import mentor_load, person_key

router = APIRouter(prefix="/profiles", tags=["profiles"])


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _taxonomy(request: Request) -> Taxonomy:
    taxonomy: Taxonomy = request.app.state.taxonomy
    return taxonomy


def _out(document: dict[str, Any], principal: Principal) -> ProfileOut:
    load = mentor_load(document)
    computed = {"active_mentees", "availability"}
    values = {k: document.get(k) for k in ProfileOut.model_fields if k in document and k not in computed}
    if principal.employee_id != document["person_id"]:
        values["inclusion"] = None  # sensitive: only the person sees it
    return ProfileOut(**values, active_mentees=load.active_mentees, availability=load.availability)


async def _visible(request: Request, principal: Principal, person_id: str, action: str) -> dict[str, Any]:
    document = (
        await _runtime(request)
        .db["people"]
        .find_one({"_id": person_key(principal.org_id, person_id), "org_id": principal.org_id})
    )
    if document is None or document.get("erased"):
        raise Problem(404, "Not Found", "no such profile")
    forbid_unless(person_id == principal.employee_id or principal.is_admin, action)
    return document


def _conflict(error: people.Conflict) -> Problem:
    return Problem(409, "Conflict", str(error), extensions={"field": error.field})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProfileOut, summary="Register a person")
async def register_profile(body: ProfileIn, principal: CurrentPrincipal, request: Request) -> ProfileOut:
    person_id = body.person_id or principal.employee_id
    forbid_unless(person_id == principal.employee_id or principal.is_admin, "register someone else's profile")
    runtime = _runtime(request)
    try:
        document = await people.register(
            runtime, _taxonomy(request), principal.org_id, person_id, body, runtime.clock.now()
        )
    except people.Conflict as error:
        raise _conflict(error) from error
    return _out(document, principal)


@router.get("", response_model=ProfilePage, summary="Search the org's profiles (admins)")
async def search_profiles(
    request: Request,
    principal: CurrentPrincipal,
    role: Annotated[str | None, Query(pattern="^(mentee|mentor)$")] = None,
    skill: Annotated[str | None, Query(max_length=80)] = None,
    department: Annotated[str | None, Query(max_length=120)] = None,
    level: Seniority | None = None,
    availability: Availability | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Free text: name, title, department, skills")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProfilePage:
    forbid_unless(principal.is_admin, "search profiles")
    query: dict[str, Any] = {"org_id": principal.org_id, "erased": {"$ne": True}}
    if role:
        query["roles"] = role
    if skill:
        query["skill_names"] = _taxonomy(request).normalize(skill).name.lower()
    if department:
        query["department"] = department
    if level:
        query["level"] = level.value
    if availability:
        query["availability"] = availability.value
    if q:
        query["search_text"] = {"$regex": re.escape(q.lower())}
    collection = _runtime(request).db["people"]
    total = await collection.count_documents(query)
    cursor = collection.find(query, sort=[("person_id", 1)], skip=(page - 1) * page_size, limit=page_size)
    items = [_out(doc, principal) async for doc in cursor]
    return ProfilePage(items=items, total=total, page=page, page_size=page_size)


@router.post("/import", response_model=ImportReport, summary="Bulk upsert from the HR system (admins)")
async def import_profiles(request: Request, principal: CurrentPrincipal) -> ImportReport:
    forbid_unless(principal.is_admin, "import profiles")
    body = await request.body()
    if len(body) > 5_000_000:
        raise Problem(413, "Content Too Large", "imports are limited to 5 MB; split the file")
    try:
        rows = parse_import(body, request.headers.get("content-type", ""))
    except ValueError as error:
        raise Problem(400, "Bad Request", str(error)) from error
    return await import_rows(_runtime(request), _taxonomy(request), principal.org_id, rows)


@router.get("/{person_id}", response_model=ProfileOut, summary="Read a profile")
async def read_profile(person_id: str, principal: CurrentPrincipal, request: Request) -> ProfileOut:
    return _out(await _visible(request, principal, person_id, "read this profile"), principal)


@router.patch("/{person_id}", response_model=ProfileOut, summary="Change a profile or mentor settings")
async def update_profile(
    person_id: str, body: ProfileChanges, principal: CurrentPrincipal, request: Request
) -> ProfileOut:
    runtime = _runtime(request)
    for _ in range(5):  # re-read and re-apply when a concurrent change got there first
        current = await _visible(request, principal, person_id, "change this profile")
        try:
            outcome = await people.change(runtime, _taxonomy(request), current, body, runtime.clock.now())
        except people.Conflict as error:
            if error.field == "version":
                continue
            raise _conflict(error) from error
        return _out(outcome.document, principal)
    raise Problem(409, "Conflict", "the profile keeps changing; try again")


@router.post("/{person_id}/pause", response_model=ProfileOut, summary="Pause taking new mentees")
async def pause_mentoring(person_id: str, principal: CurrentPrincipal, request: Request) -> ProfileOut:
    return await update_profile(person_id, ProfileChanges(accepting_mentees=False), principal, request)


@router.post("/{person_id}/resume", response_model=ProfileOut, summary="Resume taking new mentees")
async def resume_mentoring(person_id: str, principal: CurrentPrincipal, request: Request) -> ProfileOut:
    return await update_profile(person_id, ProfileChanges(accepting_mentees=True), principal, request)


@router.delete("/{person_id}", status_code=204, summary="Erase a person (right to be forgotten)")
async def erase_profile(person_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    current = await _visible(request, principal, person_id, "erase this profile")
    forbid_unless(person_id == principal.employee_id or principal.has(Role.HR_ADMIN), "erase this profile")
    runtime = _runtime(request)
    try:
        await people.erase(runtime, current, runtime.clock.now())
    except people.Conflict as error:
        raise _conflict(error) from error
    return Response(status_code=204)
