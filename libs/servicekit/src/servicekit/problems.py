"""RFC 9457 problem details for every error the HTTP API returns.

Bad input is a 4xx naming the field and writes nothing; the store or the broker out of reach is a
503 with Retry-After (the clients recover by themselves when it returns, so the caller only has to
try again); an unexpected failure is a 500 that says nothing about internals (the trace id lets the
on-call engineer find it). `servicekit.openapi` documents these shapes for every route.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
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


# Pydantic's own wording for the errors people meet most, as sentences about the field; ctx values
# (pydantic's, e.g. `ge`) fill the placeholders. Other errors keep pydantic's words (see `sentence`).
_WORDED = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not expected here.",
    "int_type": "This should be a whole number.",
    "int_parsing": "This should be a whole number.",
    "int_from_float": "This should be a whole number.",
    "float_type": "This should be a number.",
    "float_parsing": "This should be a number.",
    "bool_type": "This should be true or false.",
    "bool_parsing": "This should be true or false.",
    "string_type": "This should be text.",
    "greater_than_equal": "This should be at least {ge}.",
    "greater_than": "This should be more than {gt}.",
    "less_than_equal": "This should be at most {le}.",
    "less_than": "This should be less than {lt}.",
    "string_too_long": "This should be at most {max_length} characters long.",
    "too_long": "This should have at most {max_length} items.",
    "json_invalid": "The request body is not valid JSON: {error}.",
}
# A pydantic validator's ValueError or assertion reaches people with this prefix in front.
_PREFIXES = ("Value error,", "Assertion failed,")
_PLAIN_FIRST_WORD = re.compile(r"[a-z]+(?=[\s,.;:!?]|$)")  # not a field name such as `ends_on`


def sentence(text: str) -> str:
    """`text` as a sentence: pydantic's prefixes taken off, a capital letter unless it starts with
    a name or code (`ends_on must ...`), and a full stop."""
    text = text.strip()
    for prefix in _PREFIXES:
        text = text.removeprefix(prefix).strip()
    if not text:
        return "This value is not valid."
    if _PLAIN_FIRST_WORD.match(text):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def field_message(item: Mapping[str, Any]) -> str:
    """One validation error's message, as a sentence a person can act on."""
    kind, context = item.get("type"), item.get("ctx") or {}
    minimum = context.get("min_length")
    if kind in ("string_too_short", "too_short") and minimum is not None:
        if minimum == 1:
            return "This should not be empty."
        if kind == "string_too_short":
            return f"This should be at least {minimum} characters long."
        return f"This should have at least {minimum} items."
    worded = _WORDED.get(str(kind))
    if worded is not None:
        try:
            values = {name: str(value).rstrip(".") for name, value in context.items()}
            if "error" in values:
                values["error"] = values["error"][:1].lower() + values["error"][1:]
            return worded.format_map(values)
        except (KeyError, IndexError, ValueError):
            pass  # a context without the value the wording needs: pydantic's own words below
    return sentence(str(item.get("msg", "")))


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            # ("body", "capacity") -> "capacity"; ("query", "recipient") -> "recipient"
            "field": ".".join(str(p) for p in item["loc"][1:]) or str(item["loc"][0]),
            "location": str(item["loc"][0]),
            "message": field_message(item),
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
        fields = sorted({e["field"] for e in errors})
        named = ", ".join(fields)
        return problem_response(
            request,
            422,
            "Invalid request",
            f"This field is missing or invalid: {named}."
            if len(fields) == 1
            else f"These fields are missing or invalid: {named}.",
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
