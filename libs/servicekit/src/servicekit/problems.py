"""RFC 9457 problem details for every error the HTTP API returns.

Bad input is a 4xx naming the field and writes nothing; the store or the broker out of reach is a
503 with Retry-After (the clients recover by themselves when it returns, so the caller only has to
try again); an unexpected failure is a 500 that says nothing about internals (the trace id lets the
on-call engineer find it). `servicekit.openapi` documents these shapes for every route.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://mentorship.example/problems/"


class Problem(Exception):
    """Raise from a route to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        extensions: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or _TYPE_BASE + title.lower().replace(" ", "-")
        self.extensions = extensions or {}
        self.headers = headers


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        body["trace_id"] = format(span_context.trace_id, "032x")
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def body_too_large(request: Request) -> JSONResponse:
    """The 413 for a body above the operation's limit (FastAPI's `max_body_size`, in the scope)."""
    limit = request.scope.get("starlette.max_body_size")
    detail = "the request body is larger than this operation accepts"
    return problem_response(
        request,
        413,
        "Content Too Large",
        f"{detail} ({limit} bytes)" if isinstance(limit, int) else detail,
        type_=_TYPE_BASE + "content-too-large",
    )


def is_unavailable(error: BaseException) -> bool:
    """The store or the broker could not be reached in time: nothing the request did was wrong."""
    if isinstance(error, ConnectionFailure | KafkaConnectionError | KafkaTimeoutError):
        return True
    if isinstance(error, PyMongoError):
        return error.timeout  # an operation that ran out of time (server selection, socket, CSOT)
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            # ("body", "capacity") -> "capacity"; ("query", "recipient") -> "recipient"
            "field": ".".join(str(p) for p in item["loc"][1:]) or str(item["loc"][0]),
            "location": str(item["loc"][0]),
            "message": item["msg"],
        }
        for item in error.errors()
    ]


def install_problem_handlers(app: FastAPI, *, retry_after_seconds: int = 5) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(
            request,
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            extensions=exc.extensions,
            headers=exc.headers,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _field_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem_response(
            request,
            422,
            "Invalid request",
            f"invalid field(s): {fields}",
            type_=_TYPE_BASE + "invalid-request",
            extensions={"errors": errors},
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 413:
            return body_too_large(request)
        return problem_response(
            request,
            exc.status_code,
            _reason(exc.status_code),
            exc.detail if isinstance(exc.detail, str) else None,
            headers=getattr(exc, "headers", None),
        )

    async def on_backend_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_unavailable(exc):
            return await on_unexpected(request, exc)
        # Expected while a dependency is down: one line, no traceback; readiness says the rest.
        log.warning("%s %s: unavailable: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return problem_response(
            request,
            503,
            "Service Unavailable",
            "a backing service (store or broker) is unreachable; try again shortly",
            type_=_TYPE_BASE + "unavailable",
            headers={"Retry-After": str(retry_after_seconds)},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal Server Error")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(PyMongoError, on_backend_error)
    app.add_exception_handler(KafkaError, on_backend_error)
    app.add_exception_handler(Exception, on_unexpected)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
