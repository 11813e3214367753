"""The local trace UI holds the flow: the four services export through the standard OTEL_* settings
(`OTEL_TRACES_EXPORTER=zipkin`, as `make run` sets them) to a real Zipkin, and Zipkin's HTTP API
returns one connected trace from the registration request through matching and sessions to the
notification."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from localstack.zipkin import ZipkinServer
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token

from tests.conftest import Infra
from tests.e2e.fleet import SECRET, fleet, fleet_env, new_database_prefix
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

SERVICES = {"profiles", "matching", "sessions", "notifications"}


@pytest.fixture(scope="module")
def zipkin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZipkinServer]:
    server = ZipkinServer(tmp_path_factory.mktemp("zipkin"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def services(
    infra: Infra, zipkin: ZipkinServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceFleet]:
    env = fleet_env(
        infra,
        new_database_prefix("zipkin"),
        OTEL_TRACES_EXPORTER="zipkin",
        OTEL_EXPORTER_ZIPKIN_ENDPOINT=zipkin.spans_endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    running = fleet(env, tmp_path_factory.mktemp("zipkin-service-logs"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _auth(org: str, person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub=person, org=org, roles=['employee'])}"}


def _registration_trace(zipkin: ZipkinServer) -> list[dict[str, Any]] | None:
    """A trace of profiles (this module's Zipkin saw only its registrations) that holds spans of all
    four services, read whole by its id."""
    found = httpx.get(
        f"{zipkin.url}/api/v2/traces", params={"serviceName": "profiles", "limit": 100}, timeout=5
    )
    found.raise_for_status()
    for trace in found.json():
        if {span.get("localEndpoint", {}).get("serviceName") for span in trace} >= SERVICES:
            whole = httpx.get(f"{zipkin.url}/api/v2/trace/{trace[0]['traceId']}", timeout=5)
            whole.raise_for_status()
            spans: list[dict[str, Any]] = whole.json()
            return spans
    return None


async def test_zipkin_api_returns_one_trace_from_registration_to_notification(
    zipkin: ZipkinServer, services: ServiceFleet
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    profiles = services.services["profiles"].url
    notifications = services.services["notifications"].url
    async with httpx.AsyncClient(timeout=10) as http:
        for person, roles, extra in (
            ("edsger", ["mentor"], {"mentor_capacity": 1}),
            ("barbara", ["mentee"], {}),
        ):
            response = await http.post(
                f"{profiles}/profiles",
                headers=_auth(org, person),
                json={
                    "display_name": person.title(),
                    "email": f"{person}@{org}.example.com",
                    "roles": roles,
                    **extra,
                },
            )
            assert response.status_code == 201, response.text

        async def notified() -> bool:
            feed = await http.get(
                f"{notifications}/notifications",
                params={"recipient": "barbara"},
                headers=_auth(org, "barbara"),
            )
            return any(item["kind"] == "pair_created" for item in feed.json()["items"])

        await eventually(notified, timeout=60, interval=0.3, what="barbara's pair_created notification")

    def whole_trace() -> list[dict[str, Any]] | None:
        # Spans reach Zipkin in batches from each process: wait until none hangs from a missing one.
        trace = _registration_trace(zipkin)
        ids = {span["id"] for span in trace or []}
        if not trace or any("parentId" in span and span["parentId"] not in ids for span in trace):
            return None
        return trace

    trace = await eventually(
        whole_trace,
        timeout=30,
        interval=0.5,
        what="a whole Zipkin trace from the registration reaching all four services",
    )
    by_id = {span["id"]: span for span in trace}
    (root,) = [span for span in trace if "parentId" not in span]
    assert root["localEndpoint"]["serviceName"] == "profiles"
    assert root["name"].lower().startswith("post /profiles")
    assert all(span["parentId"] in by_id for span in trace if span is not root), (
        "every span hangs on the trace"
    )
    assert {span["localEndpoint"]["serviceName"] for span in trace} == SERVICES
    # The hops between services are Kafka publish/process spans (a CONSUMER span per service).
    consumers = {span["localEndpoint"]["serviceName"] for span in trace if span.get("kind") == "CONSUMER"}
    assert consumers >= SERVICES - {"profiles"}
