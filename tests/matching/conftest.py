"""The matching service in-process on the real store and Kafka, with a clock the tests move."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from matching.app import MatchingSettings, create_app
from matching.domain.mentor import MentorCandidate, mentor_key
from matching.domain.seat import seat_key
from matching.use_cases.context import Matching as MatchingContext
from mentorship_schemas import Event
from servicekit.auth import issue_dev_token
from servicekit.clock import ManualClock
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra, drop_database
from tests.kafka_records import read_topic

SECRET = "matching-tests-development-secret-0123456789"


@dataclass
class Matching:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    context: MatchingContext  # the use cases' dependencies, as the app wired them
    clock: ManualClock
    infra: Infra
    org: str

    @property
    def candidates(self) -> Any:
        """The collection itself: a test that writes to it behind the service's back, after the
        service read the org, calls `wrote_behind_its_back` (the service keeps a view in memory)."""
        return self.runtime.db["candidates"]

    def wrote_behind_its_back(self) -> None:
        # Writes made here raise no version: the service reads the org whole, as at its resync.
        self.context.reads.views.forget(self.org)  # type: ignore[attr-defined]

    async def events(
        self, event_type: type[Event], until: Callable[[list[dict[str, Any]]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """The data of every `event_type` of this test's org that landed on its Kafka topic."""

        def mine(records: list[Any]) -> list[dict[str, Any]]:
            # Other tests put deliberately broken records on the shared topics: skip what is not JSON.
            found = []
            for record in records:
                if record.headers.get("ce_type") != event_type.ce_type():
                    continue
                try:
                    data = json.loads(record.value)
                except ValueError:
                    continue
                if isinstance(data, dict) and data.get("org_id") == self.org:
                    found.append(data)
            return found

        records = await read_topic(
            self.infra.kafka_bootstrap_servers,
            event_type.topic(),
            until=(lambda records: until(mine(records))) if until else None,
        )
        return mine(records)


@pytest.fixture
async def matching(infra: Infra) -> AsyncIterator[Matching]:
    settings = MatchingSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        consumer_start_from="latest",  # candidates are written directly; skip the topics' history
        mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        consumer_group_id=f"test-matching-{uuid.uuid4().hex[:8]}",
        auth_allow_dev_hs256=True,
        auth_dev_hs256_secret=SECRET,
        outbox_poll_seconds=0.1,
        matching_sweep_seconds=3600,  # the tests call the sweeps themselves, with the clock
        matching_waiting_sweep_seconds=3600,
        # These cohorts are far below what runs in the engine process (test_engine_runner.py tests
        # it): spawning one for every test would cost a second of CPU each and run nothing.
        matching_engine_process=False,
    )
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = create_app(settings, clock)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.start()
    # The tests write candidates straight to the store: the start-up sweep (waiting seats) must
    # have looked, and matched what it found, before they do, or it may match their mentees.
    await runtime.first_sweeps()
    await app.state.matching.coalescer.settled()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://matching"
        ) as http:
            yield Matching(http, runtime, app.state.matching, clock, infra, f"org-{uuid.uuid4().hex[:8]}")
    finally:
        # Stop consuming and relaying first: dropping a database under live writers can stall.
        await runtime.stop()
        await drop_database(infra, runtime.db.name)


def auth(org: str, person: str, *roles: str) -> dict[str, str]:
    token = issue_dev_token(SECRET, sub=person, org=org, roles=list(roles) or ["employee"])
    return {"Authorization": f"Bearer {token}"}


def candidate(org: str, person: str, role: str, **fields: Any) -> dict[str, Any]:
    """A candidate document as the profile handlers store it (mentees wait in `program_id`)."""
    document: dict[str, Any] = {
        "_id": seat_key(org, person) if role == "mentee" else mentor_key(org, person),
        "org_id": org,
        "person_id": person,
        "role": role,
        "languages": ["en"],
        "timezone": "Europe/Paris",
        "profile_version": 1,
    }
    if role == "mentee":
        document |= {
            "status": "waiting",
            "program_id": "open",
            "version": 1,
            "waiting_since": datetime(2026, 3, 1, tzinfo=UTC),
        }
    else:
        document |= {"status": "available", "capacity": 1, "availability_version": 1, "version": 1}
        # As the store writes it (with the places left, `free_slots`, computed).
        return MentorCandidate.model_validate(document | fields).to_document()
    return document | fields
