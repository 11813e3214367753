"""End to end: two replicas of the sessions service as real processes on real Kafka and the store.

PairCreated (published to Kafka) -> agreement drafted -> both sign (AgreementSigned) -> sessions
scheduled on the cadence -> the kick-off passes unattended -> SessionMissed -> a second one ->
SessionMissed (2 in a row) -> RelationshipStagnant; then a held session -> SessionCompleted ->
RelationshipRecovered. Both replicas sweep all along, and each cause yields exactly one event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from mentorship_schemas import CloudEvent, PairCreated
from servicekit.auth import issue_dev_token
from servicekit.kafka import CloudEventPublisher, create_broker

from tests.conftest import Infra
from tests.e2e.fleet import SECRET, fleet, fleet_env, new_database_prefix
from tests.kafka_records import read_topic
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SESSIONS_TOPIC = "mentorship.sessions.v1"


@pytest.fixture(scope="module")
def replicas(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    # Seconds instead of days for the kick-off and the grace period; the cadence stays real.
    env = fleet_env(
        infra,
        new_database_prefix("sessions"),
        FIRST_SESSION_AFTER_SECONDS="2",
        MISSED_SWEEP_EVERY_SECONDS="0.3",
        DEFAULT_CADENCE="weekly",
    )
    fleets = [fleet(env, tmp_path_factory.mktemp(f"sessions-replica-{n}"), ("sessions",)) for n in range(2)]
    try:
        for replica in fleets:
            replica.start()
        yield [replica.services["sessions"].url for replica in fleets]
    finally:
        for replica in fleets:
            replica.stop()


@pytest.fixture
async def publisher(infra: Infra) -> AsyncIterator[CloudEventPublisher]:
    broker = create_broker(infra.kafka_bootstrap_servers, client_id="sessions-e2e")
    await broker.start()
    try:
        yield CloudEventPublisher(broker)
    finally:
        await broker.stop()


def _auth(org: str, person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub=person, org=org, roles=['employee'])}"}


async def _events(infra: Infra, pair_id: str, until: Any = None) -> list[dict[str, Any]]:
    records = await read_topic(infra.kafka_bootstrap_servers, SESSIONS_TOPIC, until=until, timeout=60)
    found = []
    for record in records:
        data = json.loads(record.value)
        if data.get("pair_id") == pair_id:
            found.append(
                {"type": record.headers["ce_type"].split(".")[2], "ce_id": record.headers["ce_id"], **data}
            )
    return found


def _count(pair_id: str, event_type: str, at_least: int) -> Any:
    marker = f"mentorship.sessions.{event_type}.v1"

    def enough(records: list[Any]) -> bool:
        return (
            sum(
                1
                for r in records
                if r.headers.get("ce_type") == marker and json.loads(r.value).get("pair_id") == pair_id
            )
            >= at_least
        )

    return enough


async def test_unattended_sessions_make_a_pair_stagnant_and_a_held_session_recovers_it(
    replicas: list[str], publisher: CloudEventPublisher, infra: Infra
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    pair_id = f"pair-{uuid.uuid4().hex[:8]}"
    created = PairCreated(
        org_id=org,
        version=1,
        pair_id=pair_id,
        program_id="open",
        mentor_id="grace",
        mentee_id="ada",
        score=0.9,
    )
    await publisher.publish(
        created.topic(),
        CloudEvent(
            id=str(uuid.uuid4()),
            source="/e2e",
            type=created.ce_type(),
            subject=pair_id,
            time=datetime.now(UTC),
            data=created.model_dump(mode="json"),
        ),
        {},
    )
    first, second = replicas
    ada, grace = _auth(org, "ada"), _auth(org, "grace")
    async with httpx.AsyncClient(timeout=10) as http:

        async def agreement() -> dict[str, Any] | None:
            response = await http.get(f"{first}/pairs/{pair_id}/agreement", headers=ada)
            return response.json() if response.status_code == 200 else None

        drafted = await eventually(agreement, timeout=60, interval=0.3, what="the drafted agreement")
        assert drafted["cadence"] == "weekly"
        assert drafted["signed_at"] is None
        # Each signs through a different replica.
        assert (
            await http.post(f"{first}/pairs/{pair_id}/agreement/sign", json={}, headers=ada)
        ).status_code == 200
        signed = await http.post(
            f"{second}/pairs/{pair_id}/agreement/sign", json={"timezone": "America/New_York"}, headers=grace
        )
        assert signed.status_code == 200
        assert signed.json()["signed_at"] is not None

        sessions = (await http.get(f"{second}/pairs/{pair_id}/sessions", headers=grace)).json()
        cadence = [s for s in sessions if s["kind"] == "cadence"]
        assert len(cadence) == 4
        assert {s["status"] for s in cadence} == {"scheduled"}
        assert cadence[0]["local_times"]["grace"]["timezone"] == "America/New_York"

        # The kick-off (2 s after pairing) passes unattended.
        await _events(infra, pair_id, until=_count(pair_id, "SessionMissed", 1))

        # A second session passes unattended: two in a row.
        now = datetime.now(UTC)
        extra = await http.post(
            f"{first}/pairs/{pair_id}/sessions",
            json={
                "starts_at": (now + timedelta(seconds=1)).isoformat(),
                "ends_at": (now + timedelta(seconds=2)).isoformat(),
            },
            headers=grace,
        )
        assert extra.status_code == 201, extra.text
        await _events(infra, pair_id, until=_count(pair_id, "RelationshipStagnant", 1))
        health = (await http.get(f"{second}/pairs/{pair_id}/health", headers=ada)).json()
        assert health["stagnant"]
        assert "missed_sessions_in_a_row" in health["reason_codes"]

        # Then they meet: a held session.
        now = datetime.now(UTC)
        meeting = (
            await http.post(
                f"{second}/pairs/{pair_id}/sessions",
                json={
                    "starts_at": (now + timedelta(seconds=1)).isoformat(),
                    "ends_at": (now + timedelta(minutes=30)).isoformat(),
                },
                headers=ada,
            )
        ).json()

        async def check_in() -> bool:
            response = await http.post(
                f"{first}/pairs/{pair_id}/sessions/{meeting['session_id']}/held", headers=ada
            )
            return response.status_code == 200

        await eventually(check_in, timeout=30, interval=0.3, what="the check-in, once the session started")
        # The check-in's SessionCompleted and the RelationshipRecovered it causes may be published
        # in either order (different aggregates, different partitions): wait for both.
        recovered = _count(pair_id, "RelationshipRecovered", 1)
        completed = _count(pair_id, "SessionCompleted", 1)
        events = await _events(
            infra, pair_id, until=lambda records: recovered(records) and completed(records)
        )

    # Two relays may both publish an entry (at-least-once); consumers drop a repeated ce_id, so
    # "one effect" means one distinct event id per cause.
    distinct = list({event["ce_id"]: event for event in events}.values())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in distinct:
        by_type.setdefault(event["type"], []).append(event)
    missed = by_type["SessionMissed"]
    # Each session's events are keyed by its id, so two sessions may sit on different partitions:
    # compare without relying on the order across partitions.
    assert sorted(m["missed_in_a_row"] for m in missed) == [1, 2]
    assert len({m["session_id"] for m in missed}) == 2, "exactly one SessionMissed per session"
    assert len({m["ce_id"] for m in missed}) == 2
    assert len(by_type["AgreementSigned"]) == 1
    assert len(by_type["RelationshipStagnant"]) == 1
    assert len(by_type["RelationshipRecovered"]) == 1
    assert (
        by_type["RelationshipStagnant"][0]["episode_id"] == by_type["RelationshipRecovered"][0]["episode_id"]
    )
    assert by_type["RelationshipStagnant"][0]["severity"] == "medium"
    assert len(by_type["SessionCompleted"]) == 1
    # Kick-off, 4 cadence sessions, and the 2 extra ones.
    assert (
        len({s["session_id"] for s in by_type["SessionScheduled"]}) == len(by_type["SessionScheduled"]) == 7
    )
