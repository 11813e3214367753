"""The admin cohort run over HTTP, on the real store: optimal explained pairs stored and served."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from matching.app import MatchingSettings, create_app
from matching.store import candidate_key
from mentorship_schemas import MatchRunCompleted
from servicekit.auth import issue_dev_token
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra, drop_database
from tests.kafka_records import read_topic

SECRET = "matching-tests-development-secret-0123456789"


@pytest.fixture
async def matching_app(infra: Infra) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    settings = MatchingSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        consumer_start_from="latest",  # candidates are written directly; skip the topics' history
        mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        consumer_group_id=f"test-matching-{uuid.uuid4().hex[:8]}",
        auth_allow_dev_hs256=True,
        auth_dev_hs256_secret=SECRET,
        outbox_poll_seconds=0.1,
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://matching"
        ) as http:
            yield http, runtime
    finally:
        # Stop consuming and relaying first: dropping a database under live writers can stall.
        await runtime.stop()
        await drop_database(infra, runtime.db.name)


def auth(org: str, person: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub=person, org=org, roles=list(roles))}"}


def candidate(org: str, person: str, role: str, **fields: Any) -> dict[str, Any]:
    status = "waiting" if role == "mentee" else fields.pop("status", "available")
    return {
        "_id": candidate_key(org, person, role),
        "org_id": org,
        "person_id": person,
        "role": role,
        "status": status,
        "languages": ["en"],
        "timezone": "Europe/Paris",
        **fields,
    }


async def test_admin_cohort_run_is_optimal_explained_stored_and_org_scoped(
    matching_app: tuple[httpx.AsyncClient, ServiceRuntime], infra: Infra
) -> None:
    http, runtime = matching_app
    org = f"org-{uuid.uuid4().hex[:8]}"
    await runtime.db["candidates"].insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python"], level="junior"),
            # Reports to mira: the best skill fit, but a pair in the reporting line is never made.
            candidate(org, "bob", "mentee", skills_wanted=["sql"], manager_id="mira", level="mid"),
            candidate(org, "mira", "mentor", skills_offered=["python", "sql"], free_slots=1, level="lead"),
            candidate(org, "sam", "mentor", skills_offered=["sql"], free_slots=1, level="senior"),
            candidate(org, "off", "mentor", skills_offered=["python"], free_slots=3, status="unavailable"),
        ]
    )
    admin = auth(org, "hr", "program_admin")
    response = await http.post("/programs/p1/cohort-runs", json={}, headers=admin)
    assert response.status_code == 201, response.text
    run = response.json()
    assert {(p["mentee_id"], p["mentor_id"]) for p in run["pairs"]} == {("ada", "mira"), ("bob", "sam")}
    assert run["optimal"] is True
    assert run["matched"] == 2
    for pair in run["pairs"]:
        assert abs(sum(pair["breakdown"].values()) - pair["score"]) < 1e-9
        assert pair["reasons"]
    again = await http.post("/programs/p1/cohort-runs", json={}, headers=admin)
    assert again.json()["run_id"] == run["run_id"]
    stored = await http.get(f"/cohort-runs/{run['run_id']}", headers=admin)
    assert stored.status_code == 200
    assert stored.json()["input_digest"] == run["input_digest"]
    other_org = await http.get(f"/cohort-runs/{run['run_id']}", headers=auth("org-x", "hr", "program_admin"))
    assert other_org.status_code == 404
    employee = await http.post("/programs/p1/cohort-runs", json={}, headers=auth(org, "ada", "employee"))
    assert employee.status_code == 403
    bad_weights = await http.post(
        "/programs/p1/cohort-runs", json={"weights": {"astrology": 1}}, headers=admin
    )
    assert bad_weights.status_code == 422

    def completed(records: list[Any]) -> list[dict[str, Any]]:
        return [
            json.loads(r.value)
            for r in records
            if r.headers.get("ce_type") == MatchRunCompleted.ce_type()
            and json.loads(r.value)["org_id"] == org
        ]

    records = await read_topic(infra.kafka_bootstrap_servers, MatchRunCompleted.topic(), until=completed)
    (summary,) = completed(records)  # the re-run with the same inputs announced nothing new
    assert (summary["run_id"], summary["matched"], summary["optimal"]) == (run["run_id"], 2, True)
