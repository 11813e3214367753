"""Errors as every app answers and documents them: problem+json with the shape servicekit sends,
413 above the body limit (per route where a route needs more), 503 with Retry-After while the store
or the broker is out of reach. In-process, no server needed."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, UnsupportedVersionError
from fastapi import APIRouter, FastAPI, Request
from mentorship_schemas import Stream
from pymongo.errors import NetworkTimeout, ServerSelectionTimeoutError
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from tests.http.service_apps import NOWHERE, SERVICES, bearer, create_app, operations, settings_for

pytestmark = pytest.mark.fast
MiB = 1024 * 1024
PROBLEM = "application/problem+json"


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        yield client


def _first_write(app: FastAPI) -> tuple[str, str]:
    for path, method, operation in operations(app):
        if method in {"post", "put", "patch"} and "requestBody" in operation:
            return method, re.sub(r"\{[^}]+\}", "t-1", path)
    raise AssertionError("no operation with a request body")


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_every_service_documents_is_problem_json(service: str) -> None:
    app = create_app(service, settings_for(service))
    document = app.openapi()
    wrong = []
    for path, method, operation in operations(app):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and (path, status) != ("/ready", "503"):
                media = sorted(response.get("content", {}))
                if media != [PROBLEM]:
                    wrong.append(f"{method.upper()} {path} {status}: {media}")
        if operation.get("parameters") or operation.get("requestBody"):
            schema = operation["responses"]["422"]["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/ValidationProblem"}, f"{method} {path}"
        if operation.get("security"):
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "FieldError"} <= set(document["components"]["schemas"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_of_every_service_declares_its_success_response(service: str) -> None:
    """The issue's "a response model on every route": a portal team generates clients from these."""
    app = create_app(service, settings_for(service))
    undeclared = []
    for path, method, operation in operations(app):
        for status, response in operation["responses"].items():
            if status.startswith("2") and status != "204":
                content = response.get("content") or {}
                if (
                    not any(media.get("schema") for media in content.values())
                    and "text/calendar" not in content
                ):
                    undeclared.append(f"{method.upper()} {path} -> {status}")
    assert undeclared == [], (
        f"{service}: routes without a response model (fix in services/{service}): {undeclared}"
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_a_body_above_the_limit_gets_413_problem_json_in_every_service(service: str) -> None:
    app = create_app(service, settings_for(service, http_max_body_bytes=MiB))
    method, path = _first_write(app)
    too_large = b"x" * (MiB + 1)

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(too_large), 64 * 1024):
            yield too_large[start : start + 64 * 1024]

    async for client in _client(app):
        token = bearer("e-1", "org-1")
        declared = await client.request(method, path, content=too_large, headers=token)
        chunked = await client.request(method, path, content=streamed(), headers=token)
        within = await client.request(
            method, path, content=b"{}", headers={**token, "content-type": "application/json"}
        )
    for response in (declared, chunked):
        assert response.status_code == 413, response.text[:300]
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 413
    assert within.status_code != 413


async def test_a_route_may_accept_a_larger_body_than_the_service_limit() -> None:
    router = APIRouter()

    @router.post("/imports", max_body_size=3 * MiB)
    async def bulk_import(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @router.post("/notes")
    async def note(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    runtime = ServiceRuntime(ServiceSettings(**NOWHERE, http_max_body_bytes=MiB), stream=Stream.PROFILES)
    app = runtime.create_app(title="t", description="t", routers=[router])
    async for client in _client(app):
        two_mib = b"x" * (2 * MiB)
        assert (await client.post("/imports", content=two_mib)).json() == {"bytes": 2 * MiB}
        assert (await client.post("/notes", content=two_mib)).status_code == 413
        assert (await client.post("/imports", content=two_mib * 2)).status_code == 413
    operation = app.openapi()["paths"]["/imports"]["post"]
    assert operation["x-max-body-bytes"] == 3 * MiB
    assert str(3 * MiB) in operation["responses"]["413"]["description"]
    assert app.openapi()["paths"]["/notes"]["post"]["x-max-body-bytes"] == MiB


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ServerSelectionTimeoutError("127.0.0.1:27017: connection refused"), 503),
        (NetworkTimeout("timed out"), 503),
        (KafkaConnectionError("no broker"), 503),
        (UnsupportedVersionError("a bug, not an outage"), 500),
    ],
    ids=["store-unreachable", "store-timeout", "broker-unreachable", "other-kafka-error"],
)
async def test_an_unreachable_store_or_broker_is_a_503_with_retry_after_not_a_traceback(
    error: Exception, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    router = APIRouter()

    @router.get("/things")
    async def things() -> dict[str, Any]:
        raise error

    runtime = ServiceRuntime(ServiceSettings(**NOWHERE, http_retry_after_seconds=7), stream=Stream.PROFILES)
    app = runtime.create_app(title="t", description="t", routers=[router])
    with caplog.at_level(logging.WARNING):
        async for client in _client(app):
            response = await client.get("/things")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert "Traceback" not in response.text
    assert "127.0.0.1" not in response.text
    if status == 503:
        assert response.headers["retry-after"] == "7"
        assert all(record.exc_info is None for record in caplog.records), "an outage logs one line"
