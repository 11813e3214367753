"""What every route shares: the one dependency that reads the app's use-case context, the caller
from the portal's token, the problem responses routes declare, and how a use case's refusal
becomes a problem+json answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from servicekit.auth import CurrentPrincipal
from servicekit.problems import PROBLEM_JSON, Problem, problem_response

from matching.use_cases.context import (
    Caller,
    Conflict,
    Matching,
    MatchingError,
    NotAllowed,
    NotFound,
    Refused,
)


async def _matching(request: Request) -> Matching:
    context: Matching = request.app.state.matching
    return context


async def _caller(principal: CurrentPrincipal) -> Caller:
    return Caller(org_id=principal.org_id, person_id=principal.employee_id, is_admin=principal.is_admin)


MatchingDep = Annotated[Matching, Depends(_matching)]
CallerDep = Annotated[Caller, Depends(_caller)]

_PROBLEMS: dict[type[MatchingError], tuple[int, str]] = {
    NotFound: (404, "Not Found"),
    Conflict: (409, "Conflict"),
    Refused: (422, "Unprocessable Content"),
    NotAllowed: (403, "Forbidden"),
}
_DESCRIPTIONS = {
    403: "Your roles do not allow this",
    404: "Not found (or not yours to see)",
    409: "Not possible now (changed meanwhile, closed, exists)",
    422: "Refused input, the problem naming the field",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each error status it may answer, as problem+json."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"type": "object"}}},
        }
        for status in statuses
    }


def as_problem(error: MatchingError) -> Problem:
    status, title = next(value for kind, value in _PROBLEMS.items() if isinstance(error, kind))
    return Problem(status, title, error.detail, extensions={"field": error.field} if error.field else None)


async def on_matching_error(request: Request, error: Exception) -> JSONResponse:
    """The app's handler for what a use case refused."""
    assert isinstance(error, MatchingError)
    problem = as_problem(error)
    return problem_response(
        request,
        problem.status,
        problem.title,
        problem.detail,
        type_=problem.type,
        extensions=problem.extensions,
    )
