"""While the store is down every service answers 503 problem+json with Retry-After (never a 500 or a
traceback), /ready says which dependency is missing, and the service recovers by itself once the
store is back: a real store process (mongo-java-server, H2 file backend) stopped and restarted."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from localstack import MongoStore
from pymongo.errors import ServerSelectionTimeoutError
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra
from tests.http.service_apps import SERVICES, bearer, create_app, operations, settings_for
from tests.waiting import eventually

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoStore]:
    server = MongoStore(Path(tmp_path_factory.mktemp("outage-store")), persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def service_client(
    request: pytest.FixtureRequest, infra: Infra, store: MongoStore
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    service: str = request.param
    settings = settings_for(
        service,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=store.url,
        mongodb_timeout_ms=500,
        mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        consumer_group_id=f"test-outage-{uuid.uuid4().hex[:8]}",
        consumer_start_from="latest",
        http_retry_after_seconds=3,
    )
    app = create_app(service, settings)
    runtime: ServiceRuntime = app.state.runtime
    for attempt in range(1, 4):
        # The 0.5 s server selection is for the outage; at start, on a loaded machine and with the
        # store just restarted by the previous case, it once gave up on the first index. The store
        # steps of start() (indexes) come before it starts anything (no shared clock here), so
        # after a selection timeout it can be tried again.
        try:
            await runtime.start()
            break
        except ServerSelectionTimeoutError:
            if attempt == 3:
                raise
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
            yield client, app
    finally:
        store.start()  # a failed test must not leave the next one without its store
        await runtime.stop()


@pytest.mark.parametrize("service_client", SERVICES, indirect=True)
async def test_store_outage_is_a_503_with_retry_after_and_the_service_recovers_by_itself(
    service_client: tuple[httpx.AsyncClient, FastAPI], store: MongoStore
) -> None:
    client, app = service_client
    headers = bearer("e-outage", f"org-{uuid.uuid4().hex[:8]}")
    reads = [
        re.sub(r"\{[^}]+\}", "t-1", path)
        for path, method, operation in operations(app)
        if method == "get" and operation.get("security")
    ]
    before = {path: (await client.get(path, headers=headers)).status_code for path in reads}
    assert not [p for p, status in before.items() if status >= 500], f"5xx with the store up: {before}"
    assert (await client.get("/ready")).status_code == 200

    store.stop()
    during = {path: await client.get(path, headers=headers) for path in reads}
    server_errors = {
        p: (r.status_code, r.text[:200])
        for p, r in during.items()
        if r.status_code != 503 and r.status_code >= 500
    }
    assert server_errors == {}, "only 503 may answer a store outage"
    unavailable = [path for path, response in during.items() if response.status_code == 503]
    assert unavailable, f"no read touched the store? {[(p, r.status_code) for p, r in during.items()]}"
    for path in unavailable:
        response = during[path]
        assert response.headers["content-type"] == PROBLEM, path
        assert response.headers["retry-after"] == "3", path
        assert response.json()["status"] == 503
        assert "Traceback" not in response.text
    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["mongodb"] is False

    store.start()  # same port, same data file

    async def recovered() -> bool:
        statuses = {path: (await client.get(path, headers=headers)).status_code for path in unavailable}
        return statuses == {path: before[path] for path in unavailable}

    await eventually(recovered, timeout=30, what="every read answering as before the outage")
    assert (await client.get("/ready")).status_code == 200
