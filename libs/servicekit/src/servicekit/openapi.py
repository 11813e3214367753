"""The OpenAPI document tells the truth about errors: every error a route can answer is documented
as application/problem+json with the shape `servicekit.problems` really sends, once for every app.

What each operation gets follows from what it is: every one can fail (500) or find the store or the
broker out of reach (503, Retry-After); one that takes a token may answer 401 (WWW-Authenticate),
403 and 404 (another org's resource reads as not found); one with parameters or a body may answer
422 with the field errors; one that writes may answer 400 (an unreadable body), 409 (a state that
does not allow it) and 413 (a body above its limit, which it states). An error a route declares
itself keeps its description (why it happens there), and gets the shape the problem handler
really sends; so do errors the routes declare beyond these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from servicekit.problems import PROBLEM_JSON

_PROBLEM = "#/components/schemas/Problem"
_VALIDATION_PROBLEM = "#/components/schemas/ValidationProblem"
_WRITES = {"post", "put", "patch", "delete"}
_METHODS = {"get", "head", *_WRITES}

# Operations that touch neither the store nor the broker: never a 503.
NO_BACKEND_PATHS = frozenset({"/health", "/docs/asyncapi.json"})

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details; extension members may follow.",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "description": "A URI naming the kind of problem."},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "description": "The request path."},
            "trace_id": {
                "type": "string",
                "pattern": "^[0-9a-f]{32}$",
                "description": "The request's trace: what to give the on-call engineer.",
            },
        },
        "additionalProperties": True,
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "location", "message"],
        "properties": {
            "field": {"type": "string", "description": "e.g. capacity, skills.0, recipient"},
            "location": {"type": "string", "description": "body, query, path or header"},
            "message": {"type": "string"},
        },
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": (
            "A 422, nothing written: `errors` names each missing or invalid field when the request "
            "itself is invalid; a request that is well-formed but breaks a rule is explained in `detail`."
        ),
        "allOf": [
            {"$ref": _PROBLEM},
            {
                "type": "object",
                "properties": {
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
                },
            },
        ],
    },
}


def _problem(
    description: str, schema: str = _PROBLEM, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": schema}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _is_undeclared(response: dict[str, Any] | None) -> bool:
    """FastAPI's placeholder (no model given) or its default validation error: ours to replace."""
    if response is None:
        return True
    content = response.get("content") or {}
    if not content:
        return True
    schema = (content.get("application/json") or {}).get("schema")
    return set(content) == {"application/json"} and schema in (
        {},
        {"$ref": "#/components/schemas/HTTPValidationError"},
    )


def _as_problem(status: str, response: dict[str, Any]) -> None:
    """Whatever a route wrote for an error's body, the handler sends problem+json: say so."""
    schema = _VALIDATION_PROBLEM if status == "422" else _PROBLEM
    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": schema}}}
    response.setdefault("description", "An error (RFC 9457 problem details).")


def _errors_of(path: str, method: str, operation: dict[str, Any], max_body: int | None) -> dict[str, Any]:
    errors: dict[str, Any] = {"500": _problem("Unexpected failure; the trace_id lets operations find it.")}
    if path not in NO_BACKEND_PATHS:
        errors["503"] = _problem(
            "The store or the broker is unreachable; try again after Retry-After seconds.",
            headers={
                "Retry-After": {"description": "Seconds", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
            },
        )
    if operation.get("security"):
        challenge = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        errors["401"] = _problem(
            "No token, or one that is invalid, expired or incomplete.", headers=challenge
        )
        errors["403"] = _problem("Your roles do not allow this.")
        errors["404"] = _problem("Not found (or another organisation's).")
    elif any(p.get("in") == "path" for p in operation.get("parameters", [])):
        errors["404"] = _problem("Not found.")
    if operation.get("parameters") or operation.get("requestBody"):
        errors["422"] = _problem(
            "Invalid request: the fields named are missing or invalid.", _VALIDATION_PROBLEM
        )
    if method in _WRITES:
        errors["400"] = _problem("The body could not be read as the content type it names.")
        errors["409"] = _problem("The resource's current state does not allow this.")
        limit = f" ({max_body} bytes)" if max_body is not None else ""
        errors["413"] = _problem(f"The body is larger than this operation accepts{limit}.")
    return errors


def _body_limits(app: FastAPI, default: int | None) -> dict[tuple[str, str], int | None]:
    """(path, method) -> the body limit FastAPI enforces there (the route's, its router's or the app's)."""
    limits: dict[tuple[str, str], int | None] = {}
    for route in iter_route_contexts(app.routes):
        limit = getattr(route, "max_body_size", None)
        for method in route.methods or ():
            limits[(str(route.path_format), method.lower())] = default if limit is None else limit
    return limits


def document_problems(
    app: FastAPI, document: dict[str, Any], max_body_bytes: int | None = None
) -> dict[str, Any]:
    """Rewrite `document` (the app's generated OpenAPI) in place so every error is problem+json."""
    limits = _body_limits(app, max_body_bytes)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            max_body = limits.get((path, method))
            if max_body is not None and method in _WRITES:
                operation["x-max-body-bytes"] = max_body
            for status, response in _errors_of(path, method, operation, max_body).items():
                declared = responses.get(status)
                if not _is_undeclared(declared) and declared is not None and declared.get("description"):
                    response = {**response, "description": declared["description"]}
                responses[status] = response
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _as_problem(status, response)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PROBLEM_SCHEMAS)
    # Models that only described errors the routes declared (FastAPI's validation error, a
    # service's own problem model) are now unused: keep only what something still refers to.
    while unused := [name for name in schemas if f"#/components/schemas/{name}" not in _refs(document)]:
        if all(name in PROBLEM_SCHEMAS for name in unused):
            break
        for name in unused:
            if name not in PROBLEM_SCHEMAS:
                schemas.pop(name)
    return document


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def install_problem_documentation(app: FastAPI, *, max_body_bytes: int | None = None) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) document the problem responses."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(app, generate(), max_body_bytes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
