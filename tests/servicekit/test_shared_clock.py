"""The shared platform clock: one offset every service reads, moved forward in development only."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from servicekit.auth import issue_dev_token
from servicekit.clock import SHARED_CLOCK_COLLECTION, SharedClock, SystemClock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from tests.conftest import Infra, drop_database

SECRET = "shared-clock-test-secret-0123456789abcdef"


def _settings(**overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "service_name": "profiles",
        "auth_allow_dev_hs256": True,
        "auth_dev_hs256_secret": SECRET,
        **overrides,
    }
    return ServiceSettings(**values)


@pytest.mark.fast
def test_production_configuration_refuses_the_shared_clock_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="AUTH_ALLOW_DEV_HS256=true"):
        _settings(clock="shared", auth_allow_dev_hs256=False)


@pytest.mark.fast
def test_a_service_started_with_the_shared_clock_in_production_exits_naming_the_switch() -> None:
    env = {"CLOCK": "shared", "AUTH_ALLOW_DEV_HS256": "false", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "profiles"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "CLOCK=shared" in done.stderr
    assert "AUTH_ALLOW_DEV_HS256=true" in done.stderr


@pytest.mark.fast
async def test_without_the_shared_clock_there_is_no_clock_endpoint_and_time_is_the_systems() -> None:
    from mentorship_schemas import Stream

    runtime = ServiceRuntime(_settings(), stream=Stream.PROFILES)
    assert isinstance(runtime.clock, SystemClock)
    app = runtime.create_app(title="t", description="d", routers=[])
    token = issue_dev_token(SECRET, sub="pat", org="o", roles=["program_admin"])
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        assert (await http.get("/dev/clock", headers=headers)).status_code == 404
        moved = await http.post("/dev/clock/advance", headers=headers, json={"seconds": 60})
        assert moved.status_code == 404


@pytest.mark.fast
async def test_the_clock_endpoint_moves_time_only_forward_and_only_for_admins() -> None:
    from mentorship_schemas import Stream

    class MemoryCollection:
        def __init__(self) -> None:
            self.offset = 0.0

        async def find_one(self, query: dict[str, Any]) -> dict[str, Any]:
            return {"_id": "platform", "offset_seconds": self.offset}

        async def update_one(self, query: dict[str, Any], update: dict[str, Any], upsert: bool) -> None:
            self.offset += update["$inc"]["offset_seconds"]

    clock = SharedClock(MemoryCollection())  # type: ignore[arg-type]
    runtime = ServiceRuntime(_settings(clock="shared"), stream=Stream.PROFILES, clock=clock)
    app = runtime.create_app(title="t", description="d", routers=[])

    def auth(*roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub='p', org='o', roles=list(roles))}"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        assert (await http.get("/dev/clock")).status_code == 401
        employee = await http.post("/dev/clock/advance", headers=auth("employee"), json={"seconds": 60})
        assert employee.status_code == 403
        backwards = await http.post("/dev/clock/advance", headers=auth("hr_admin"), json={"seconds": -60})
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "seconds"
        moved = await http.post(
            "/dev/clock/advance", headers=auth("program_admin"), json={"seconds": 3 * 86400}
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["offset_seconds"] == 3 * 86400
        seen = (await http.get("/dev/clock", headers=auth("employee"))).json()
    ahead = datetime.fromisoformat(seen["now"]) - datetime.now(UTC)
    assert timedelta(days=3) - timedelta(minutes=1) < ahead <= timedelta(days=3)


async def test_a_move_through_one_service_is_seen_by_every_other_after_a_refresh(infra: Infra) -> None:
    database = f"clock_{uuid.uuid4().hex[:8]}_platform"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        collection = client[database][SHARED_CLOCK_COLLECTION]
        mover, reader = SharedClock(collection), SharedClock(collection)
        assert await reader.refresh() == timedelta(0)
        moved_to = await mover.advance(7 * 86400)
        await mover.advance(3600)
        assert reader.offset == timedelta(0), "a service keeps its cached offset until it re-reads it"
        assert await reader.refresh() == timedelta(days=7, hours=1)
        assert reader.now() >= moved_to + timedelta(hours=1) - timedelta(seconds=5)
        with pytest.raises(ValueError, match="forward"):
            await mover.advance(0)
    finally:
        await client.close()
        await drop_database(infra, database)
