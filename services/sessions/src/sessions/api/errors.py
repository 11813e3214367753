"""How the use cases' refusals become problem+json answers (RFC 9457), and how routes document
them: each route lists its error statuses with `problems(...)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from servicekit.aggregates import ConcurrentUpdate
from servicekit.problems import PROBLEM_JSON, Problem, problem_response

from sessions.domain.cadence import UnknownTimezone
from sessions.domain.errors import InvalidInput, NotFound, Rejected
from sessions.use_cases import Forbidden


class ProblemOut(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    trace_id: str | None = None
    errors: list[dict[str, str]] | None = None  # for 422: each with field, location, message


_DESCRIPTIONS = {
    401: "No valid bearer token",
    403: "Allowed to see the pair but not to do this",
    404: "No such pair (or not one of yours), or no such part of it",
    409: "The pair's state does not allow this now (ended, already done, changing right now)",
    422: "Invalid input: the fields are named in `errors`",
}
_SCHEMA = ProblemOut.model_json_schema()


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status documented as application/problem+json."""
    return {
        status: {"description": _DESCRIPTIONS[status], "content": {PROBLEM_JSON: {"schema": _SCHEMA}}}
        for status in (401, *statuses)
    }


def invalid(field: str, detail: str) -> Problem:
    return Problem(
        422,
        "Invalid request",
        detail,
        type_="https://mentorship.example/problems/invalid-request",
        extensions={"errors": [{"field": field, "location": "body", "message": detail}]},
    )


def _problem_of(error: Exception) -> Problem:
    if isinstance(error, NotFound):
        return Problem(404, "Not Found", str(error))
    if isinstance(error, Forbidden):
        return Problem(403, "Forbidden", str(error))
    if isinstance(error, Rejected):
        return Problem(409, "Conflict", str(error))
    if isinstance(error, ConcurrentUpdate):
        return Problem(409, "Conflict", "The pair is changing right now; please try again.")
    if isinstance(error, InvalidInput):
        return invalid(error.field, error.detail)
    assert isinstance(error, UnknownTimezone)
    return invalid("timezone", str(error))


async def _answer(request: Request, error: Exception) -> JSONResponse:
    problem = _problem_of(error)
    return problem_response(
        request,
        problem.status,
        problem.title,
        problem.detail,
        type_=problem.type,
        extensions=problem.extensions,
    )


def install_error_answers(app: FastAPI) -> None:
    handler: Callable[[Request, Exception], Awaitable[JSONResponse]] = _answer
    for error in (NotFound, Forbidden, Rejected, ConcurrentUpdate, InvalidInput, UnknownTimezone):
        app.add_exception_handler(error, handler)
