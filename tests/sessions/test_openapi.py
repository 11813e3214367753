"""The sessions HTTP surface as documented (built without I/O): the portal's paths stay where they
are, every route declares what it answers, and every error is documented as problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from servicekit.problems import PROBLEM_JSON
from sessions.app import SessionsSettings, create_app

pytestmark = pytest.mark.fast

PORTAL_ROUTES = {
    ("get", "/pairs/{pair_id}"),
    ("get", "/pairs/{pair_id}/agreement"),
    ("put", "/pairs/{pair_id}/agreement"),
    ("patch", "/pairs/{pair_id}/agreement"),
    ("post", "/pairs/{pair_id}/agreement/sign"),
    ("get", "/pairs/{pair_id}/sessions"),
    ("post", "/pairs/{pair_id}/sessions"),
    ("get", "/pairs/{pair_id}/sessions/{session_id}"),
    ("get", "/pairs/{pair_id}/sessions/{session_id}/calendar.ics"),
    ("post", "/pairs/{pair_id}/sessions/{session_id}/held"),
    ("post", "/sessions/{session_id}/held"),
    ("post", "/pairs/{pair_id}/sessions/{session_id}/cancel"),
    ("post", "/pairs/{pair_id}/sessions/{session_id}/reschedule"),
    ("post", "/pairs/{pair_id}/sessions/{session_id}/agenda"),
    ("put", "/pairs/{pair_id}/sessions/{session_id}/feedback"),
    ("post", "/pairs/{pair_id}/notes"),
    ("get", "/pairs/{pair_id}/notes"),
    ("post", "/pairs/{pair_id}/action-items"),
    ("get", "/pairs/{pair_id}/action-items"),
    ("post", "/pairs/{pair_id}/action-items/{item_id}/done"),
    ("post", "/pairs/{pair_id}/goals"),
    ("get", "/pairs/{pair_id}/goals"),
    ("post", "/pairs/{pair_id}/goals/{goal_id}/milestones/{milestone_id}/done"),
    ("put", "/pairs/{pair_id}/goals/{goal_id}/progress"),
    ("get", "/pairs/{pair_id}/health"),
    ("get", "/programs/{program_id}/health"),
}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    document: dict[str, Any] = create_app(SessionsSettings()).openapi()
    return document


def _operations(openapi: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
        if (method, path) in PORTAL_ROUTES
    }


def test_every_portal_route_is_still_served_at_its_path(openapi: dict[str, Any]) -> None:
    assert set(_operations(openapi)) == PORTAL_ROUTES


def test_every_route_declares_the_shape_of_its_success(openapi: dict[str, Any]) -> None:
    for (method, path), operation in _operations(openapi).items():
        (success,) = [status for status in operation["responses"] if status.startswith("2")]
        content = operation["responses"][success]["content"]
        expected = "text/calendar" if path.endswith(".ics") else "application/json"
        schema = content[expected]["schema"]
        assert schema.get("$ref") or schema.get("items", {}).get("$ref") or path.endswith(".ics"), (
            method,
            path,
            schema,
        )


def test_every_error_is_documented_as_problem_json(openapi: dict[str, Any]) -> None:
    for (method, path), operation in _operations(openapi).items():
        errors = {status: r for status, r in operation["responses"].items() if status.startswith("4")}
        assert {"401", "404", "422"} <= set(errors) or path.startswith("/programs"), (method, path)
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
            expected = "ValidationProblem" if status == "422" else "Problem"
            assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": f"#/components/schemas/{expected}"}
        assert openapi["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
