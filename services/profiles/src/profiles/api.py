"""HTTP routes the portal calls, each request -> use case -> response model: profiles for employees,
search and HR import for admins, erasure. Use-case refusals become problem+json here."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response, status
from mentorship_schemas.events import PersonRole
from servicekit.auth import CurrentPrincipal, Role
from servicekit.problems import Problem

from profiles.domain.availability import Availability
from profiles.domain.person import InvalidProfile
from profiles.domain.profile import Seniority
from profiles.hr_import import (
    CSV_FORMAT,
    MAX_BYTES,
    MAX_ROWS,
    ImportReport,
    UnreadableImport,
    import_profiles,
)
from profiles.models import EmployeeId, Label, OneLine, ProfileChanges, ProfileIn, ProfileOut, ProfilePage
from profiles.use_cases import (
    Actor,
    Conflict,
    NotAllowed,
    ProfileNotFound,
    ProfileQuery,
    Profiles,
    ProfilesError,
)

router = APIRouter(prefix="/profiles", tags=["profiles"])


async def profiles_service(request: Request) -> Profiles:
    """The one place a route reaches the app's state: the use cases built in app.py."""
    profiles: Profiles = request.app.state.profiles
    return profiles


async def acting(principal: CurrentPrincipal) -> Actor:
    return Actor(
        person_id=principal.employee_id,
        org_id=principal.org_id,
        is_admin=principal.is_admin,
        is_hr_admin=principal.has(Role.HR_ADMIN),
    )


Service = Annotated[Profiles, Depends(profiles_service)]
Caller = Annotated[Actor, Depends(acting)]
PersonId = Annotated[EmployeeId, Path(description="The person's employee id.")]


def _problem(status_code: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {status_code: {"description": description}}


INVALID = _problem(422, "A field is invalid (each is named in `errors`); nothing was written.")
FORBIDDEN = _problem(403, "Your roles do not allow this.")
NOT_FOUND = _problem(404, "No such profile in your org.")
CONFLICT = _problem(409, "Another profile has this employee id or email (`field` says which).")
_ROWS = {"type": "array", "maxItems": MAX_ROWS, "items": {"$ref": "#/components/schemas/ProfileIn"}}
_WRAPPED_ROWS = {"type": "object", "properties": {"rows": _ROWS}, "required": ["rows"]}
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": CSV_FORMAT,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [_ROWS, {"type": "object", "properties": {"rows": _ROWS}, "required": ["rows"]}]
                }
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "person_id,display_name,email,roles,skills_offered,mentor_capacity,languages\n"
                "e1,Edsger Dijkstra,edsger@example.com,mentor;mentee,algorithms:expert;go,3,nl;en\n",
            },
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProfileOut,
    responses={**INVALID, **FORBIDDEN, **CONFLICT},
    summary="Register a person",
)
async def register_profile(body: ProfileIn, actor: Caller, profiles: Service) -> ProfileOut:
    return ProfileOut.of(await profiles.register(actor, body), actor.person_id)


@router.get(
    "",
    response_model=ProfilePage,
    responses={**INVALID, **FORBIDDEN},
    summary="Search the org's profiles (admins)",
)
async def search_profiles(
    actor: Caller,
    profiles: Service,
    role: PersonRole | None = None,
    skill: Annotated[OneLine | None, Query(max_length=80)] = None,
    department: Annotated[Label | None, Query()] = None,
    level: Seniority | None = None,
    availability: Availability | None = None,
    q: Annotated[
        OneLine | None, Query(max_length=100, description="Free text: name, title, department, skills")
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProfilePage:
    query = ProfileQuery(role, skill, department, level, availability, q)
    found = await profiles.search(actor, query, page, page_size)
    items = [ProfileOut.of(person, actor.person_id) for person in found.people]
    return ProfilePage(items=items, total=found.total, page=page, page_size=page_size)


@router.post(
    "/import",
    response_model=ImportReport,
    responses={
        **_problem(400, "The body is neither JSON rows nor CSV (or has over 10,000 rows)."),
        **FORBIDDEN,
        **_problem(413, "The body is over 5 MB: split the file."),
    },
    summary="Bulk upsert from the HR system (admins)",
    max_body_size=MAX_BYTES,
    openapi_extra=IMPORT_BODY,
)
async def import_profiles_route(request: Request, actor: Caller, profiles: Service) -> ImportReport:
    body = await request.body()
    return await import_profiles(profiles, actor, body, request.headers.get("content-type", ""))


@router.get(
    "/{person_id}",
    response_model=ProfileOut,
    responses={**INVALID, **FORBIDDEN, **NOT_FOUND},
    summary="Read a profile",
)
async def read_profile(person_id: PersonId, actor: Caller, profiles: Service) -> ProfileOut:
    return ProfileOut.of(await profiles.read(actor, person_id), actor.person_id)


@router.patch(
    "/{person_id}",
    response_model=ProfileOut,
    responses={**INVALID, **FORBIDDEN, **NOT_FOUND, **CONFLICT},
    summary="Change a profile or mentor settings",
)
async def update_profile(
    person_id: PersonId, body: ProfileChanges, actor: Caller, profiles: Service
) -> ProfileOut:
    return ProfileOut.of(await profiles.revise(actor, person_id, body), actor.person_id)


@router.post(
    "/{person_id}/pause",
    response_model=ProfileOut,
    responses={**INVALID, **FORBIDDEN, **NOT_FOUND},
    summary="Pause taking new mentees",
)
async def pause_mentoring(person_id: PersonId, actor: Caller, profiles: Service) -> ProfileOut:
    return ProfileOut.of(await profiles.pause(actor, person_id), actor.person_id)


@router.post(
    "/{person_id}/resume",
    response_model=ProfileOut,
    responses={**INVALID, **FORBIDDEN, **NOT_FOUND},
    summary="Resume taking new mentees",
)
async def resume_mentoring(person_id: PersonId, actor: Caller, profiles: Service) -> ProfileOut:
    return ProfileOut.of(await profiles.resume(actor, person_id), actor.person_id)


@router.delete(
    "/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**INVALID, **FORBIDDEN, **NOT_FOUND},
    summary="Erase a person (right to be forgotten)",
)
async def erase_profile(person_id: PersonId, actor: Caller, profiles: Service) -> Response:
    await profiles.erase(actor, person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def problem_of(error: ProfilesError | InvalidProfile) -> Problem:
    """The HTTP answer to a use case's refusal."""
    if isinstance(error, InvalidProfile):
        errors = [{"field": error.field, "location": "body", "message": str(error)}]
        return Problem(
            422, "Invalid request", f"invalid field(s): {error.field}", extensions={"errors": errors}
        )
    if isinstance(error, ProfileNotFound):
        return Problem(404, "Not Found", str(error))
    if isinstance(error, NotAllowed):
        return Problem(403, "Forbidden", str(error))
    if isinstance(error, Conflict):
        return Problem(409, "Conflict", str(error), extensions={"field": error.field})
    if isinstance(error, UnreadableImport):
        return Problem(400, "Bad Request", str(error))
    raise TypeError(f"no answer for {type(error).__name__}") from error


def install_error_answers(app: FastAPI) -> None:
    """Answer use-case refusals through the app's problem+json handler (installed by servicekit)."""
    answer_problem = app.exception_handlers[Problem]

    async def answer(request: Request, error: Exception) -> Response:
        assert isinstance(error, ProfilesError | InvalidProfile)
        answered = answer_problem(request, problem_of(error))
        return await answered if isinstance(answered, Awaitable) else answered

    app.add_exception_handler(ProfilesError, answer)
    app.add_exception_handler(InvalidProfile, answer)
