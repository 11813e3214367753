"""The profiles app in-process (real Kafka and the store behind it), called through ASGI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from profiles.app import ProfilesSettings, create_app
from profiles.store import PEOPLE
from servicekit.auth import issue_dev_token
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra, drop_database

SECRET = "profiles-tests-development-secret-0123456789"


@dataclass
class ProfilesClient:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    org: str

    def auth(self, person: str, *roles: str, org: str | None = None) -> dict[str, str]:
        token = issue_dev_token(SECRET, sub=person, org=org or self.org, roles=list(roles or ["employee"]))
        return {"Authorization": f"Bearer {token}"}

    @property
    def people(self) -> Any:
        return self.runtime.db[PEOPLE]


@pytest.fixture
async def profiles(infra: Infra) -> AsyncIterator[ProfilesClient]:
    settings = ProfilesSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        consumer_group_id=f"test-profiles-{uuid.uuid4().hex[:8]}",
        consumer_start_from="latest",  # events are handed in directly; skip the topics' history
        auth_allow_dev_hs256=True,
        auth_dev_hs256_secret=SECRET,
        outbox_poll_seconds=0.1,
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://profiles") as http:
            yield ProfilesClient(http, runtime, f"org-{uuid.uuid4().hex[:8]}")
    finally:
        # Stop consuming and relaying first: dropping a database under live writers can stall.
        await runtime.stop()
        await drop_database(infra, runtime.db.name)
