"""The sessions service against real Kafka and the real store, with a manual clock: agreement,
sessions, check-in, sweeps (missed, overdue, health), PairEnded, the HTTP API and its bad input."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from mentorship_schemas import CircleFormed, CloudEvent, PairCreated, PairEnded, ProfileErased, SessionMissed
from mentorship_schemas.events import PairEndReason
from servicekit.auth import issue_dev_token
from servicekit.clock import ManualClock
from servicekit.erasure import pseudonym
from servicekit.kafka import CloudEventPublisher, create_broker
from servicekit.runtime import ServiceRuntime
from sessions.app import SessionsSettings, build, http_app
from sessions.domain.statuses import RelationshipKind
from sessions.handlers import (
    sweep_missed_sessions,
    sweep_overdue_action_items,
    sweep_relationship_health,
)
from sessions.store import RELATIONSHIPS
from sessions.use_cases import SessionsContext
from sessions.use_cases.lifecycle import Pairing, start_relationship

from tests.conftest import Infra
from tests.kafka_records import read_topic
from tests.waiting import eventually

SECRET = "sessions-integration-secret-0123456789"
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday, far from the real clock on purpose
Document = dict[str, Any]


@dataclass
class Service:
    runtime: ServiceRuntime
    sessions: SessionsContext
    clock: ManualClock
    http: httpx.AsyncClient
    settings: SessionsSettings
    org: str

    def auth(self, person: str, *roles: str, org: str | None = None) -> dict[str, str]:
        token = issue_dev_token(SECRET, sub=person, org=org or self.org, roles=list(roles or ["employee"]))
        return {"Authorization": f"Bearer {token}"}

    async def pair(self, pair_id: str | None = None) -> str:
        """A drafted pair (mentee ada, mentor grace), as PairCreated would make it."""
        pair_id = pair_id or f"pair-{uuid.uuid4().hex[:8]}"
        pairing = Pairing(
            relationship_id=pair_id,
            org_id=self.org,
            program_id="prog-1",
            kind=RelationshipKind.PAIR,
            participant_ids=("ada", "grace"),
            mentor_id="grace",
            mentee_id="ada",
        )
        assert await start_relationship(self.sessions, pairing, self.clock.now())
        return pair_id

    async def document(self, pair_id: str) -> Document:
        """The relationship as stored, with its outbox."""
        document = await self.runtime.db[RELATIONSHIPS].find_one({"_id": pair_id})
        assert document is not None
        return document


def _settings(infra: Infra, name: str) -> SessionsSettings:
    return SessionsSettings(
        service_name=name,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        mongodb_database_prefix="it_",
        auth_allow_dev_hs256=True,
        auth_dev_hs256_secret=SECRET,
        missed_sweep_every_seconds=3600,  # the tests call the sweeps themselves, with the clock
        outbox_poll_seconds=0.2,
        first_session_after_seconds=7 * 86400,
        kickoff_in_working_hours=False,  # these tests count from the kick-off exactly 7 days in
        default_cadence="weekly",
    )


@pytest.fixture
async def service(infra: Infra) -> AsyncIterator[Service]:
    settings = _settings(infra, f"sessions-it-{uuid.uuid4().hex[:6]}")
    clock = ManualClock(T0)
    runtime, sessions = build(settings, clock)
    app = http_app(runtime, sessions)
    # Not started: no relay drains the outboxes the tests inspect (tests that need Kafka start it).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sessions") as http:
        try:
            yield Service(runtime, sessions, clock, http, settings, f"org-{uuid.uuid4().hex[:6]}")
        finally:
            await runtime.stop()


def _outbox_types(document: Document) -> list[str]:
    return [entry["type"].split(".")[2] for entry in document.get("outbox", [])]


async def _published(infra: Infra, pair_id: str, until: Any = None) -> list[dict[str, Any]]:
    records = await read_topic(infra.kafka_bootstrap_servers, "mentorship.sessions.v1", until=until)
    return [
        {"type": r.headers["ce_type"].split(".")[2], "id": r.headers["ce_id"], **json.loads(r.value)}
        for r in records
        if json.loads(r.value).get("pair_id") == pair_id
    ]


async def test_pair_created_on_kafka_drafts_the_agreement_and_schedules_the_kickoff(
    service: Service, infra: Infra
) -> None:
    await service.runtime.start()
    pair_id = f"pair-{uuid.uuid4().hex[:8]}"
    event = PairCreated(
        org_id=service.org,
        version=1,
        pair_id=pair_id,
        program_id="p",
        mentor_id="grace",
        mentee_id="ada",
        score=0.8,
    )
    envelope = CloudEvent(
        id=str(uuid.uuid4()),
        source="/test",
        type=event.ce_type(),
        subject=pair_id,
        time=T0,
        data=event.model_dump(mode="json"),
    )
    broker = create_broker(infra.kafka_bootstrap_servers, client_id="sessions-it")
    await broker.start()
    try:
        publisher = CloudEventPublisher(broker)
        await publisher.publish(event.topic(), envelope, {})
        await publisher.publish(event.topic(), envelope, {})  # redelivered: still one relationship
    finally:
        await broker.stop()

    await eventually(lambda: service.sessions.relationships.get(pair_id), timeout=60, what="the relationship")
    agreement = (await service.http.get(f"/pairs/{pair_id}/agreement", headers=service.auth("ada"))).json()
    assert agreement["cadence"] == "weekly"
    assert agreement["roles"] == {"grace": "mentor", "ada": "mentee"}
    assert agreement["signed_at"] is None
    sessions = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=service.auth("grace"))).json()
    assert [(s["kind"], s["status"], s["starts_at"]) for s in sessions] == [
        ("kickoff", "scheduled", (T0 + timedelta(days=7)).isoformat().replace("+00:00", "Z"))
    ]
    published = await _published(
        infra, pair_id, until=lambda rs: sum(pair_id.encode() in r.value for r in rs) >= 2
    )
    assert [p["type"] for p in published] == ["AgreementDrafted", "SessionScheduled"]
    assert published[0]["awaiting_ids"] == ["ada", "grace"]


async def test_both_signing_emits_agreement_signed_and_schedules_sessions_on_cadence_in_their_timezone(
    service: Service,
) -> None:
    pair_id = await service.pair()
    draft = {
        "goals": ["Grow as a tech lead"],
        "roles": {"ada": "mentee", "grace": "mentor"},
        "cadence": "biweekly",
        "timezone": "America/New_York",
        "timezones": {"ada": "Europe/London", "grace": "America/New_York"},
        "local_time": "10:00",
        "weekday": 1,
        "duration_minutes": 45,
        "ends_on": (T0 + timedelta(days=180)).isoformat(),
    }
    put = await service.http.put(f"/pairs/{pair_id}/agreement", json=draft, headers=service.auth("ada"))
    assert put.status_code == 200, put.text
    first = await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("ada"))
    assert first.json()["signed_by"] == ["ada"]
    assert first.json()["signed_at"] is None
    assert _outbox_types(await service.document(pair_id)).count("AgreementSigned") == 0
    second = await service.http.post(
        f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("grace")
    )
    assert second.json()["signed_at"] is not None

    document = await service.document(pair_id)
    assert _outbox_types(document).count("AgreementSigned") == 1
    cadence = [s for s in document["sessions"] if s["kind"] == "cadence"]
    assert len(cadence) == 4
    new_york = ZoneInfo("America/New_York")
    starts = [s["starts_at"].replace(tzinfo=UTC).astimezone(new_york) for s in cadence]
    assert all((b.date() - a.date()).days == 14 for a, b in itertools.pairwise(starts))
    assert {(s.weekday(), s.hour) for s in starts} == {(1, 10)}  # Tuesdays 10:00 in New York
    # The kick-off is on Monday 14 January; the regular sessions start a cadence period after it.
    assert starts[0].date() == date(2030, 1, 29)
    listed = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=service.auth("ada"))).json()
    shown = next(s for s in listed if s["session_id"] == cadence[0]["session_id"])
    assert shown["local_times"]["ada"]["starts_at"] == "2030-01-29T15:00:00+00:00"
    assert shown["my_local_time"] == shown["local_times"]["ada"]
    assert shown["local_times"]["grace"]["starts_at"] == "2030-01-29T10:00:00-05:00"
    again = await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("ada"))
    assert again.status_code == 409


async def test_two_replicas_sweeping_at_once_emit_exactly_one_session_missed_per_session(
    service: Service, infra: Infra
) -> None:
    pair_ids = [await service.pair() for _ in range(3)]
    replica_runtime, replica = build(service.settings, service.clock)  # a second replica, own client
    try:
        service.clock.advance(timedelta(days=7, hours=3))
        now = service.clock.now()
        emitted = await asyncio.gather(
            sweep_missed_sessions(service.sessions, now, 100), sweep_missed_sessions(replica, now, 100)
        )
        assert sum(emitted) == 3
        for pair_id in pair_ids:
            document = await service.document(pair_id)
            assert document["sessions"][0]["status"] == "missed"
            assert document["sessions"][0]["missed_in_a_row"] == 1
        assert await sweep_missed_sessions(replica, now, 100) == 0
        await service.runtime.start()  # the relay publishes what the sweeps wrote
        published = await _published(
            infra,
            pair_ids[0],
            until=lambda rs: (
                sum(pair_ids[0].encode() in r.value and b"missed_in_a_row" in r.value for r in rs) >= 1
            ),
        )
        missed = [p for p in published if p["type"] == "SessionMissed"]
        assert len(missed) == 1
        assert SessionMissed.model_validate(missed[0]).missed_in_a_row == 1
    finally:
        await replica_runtime.mongo.close()


async def test_second_missed_session_makes_the_pair_stagnant_once_and_a_held_session_recovers_it(
    service: Service,
) -> None:
    pair_id = await service.pair()
    grace = service.auth("grace")
    service.clock.advance(timedelta(days=7, hours=3))
    await sweep_missed_sessions(service.sessions, service.clock.now(), 100)  # the kick-off passed unattended

    second = await service.http.post(
        f"/pairs/{pair_id}/sessions",
        json={
            "starts_at": (service.clock.now() + timedelta(days=1)).isoformat(),
            "ends_at": (service.clock.now() + timedelta(days=1, hours=1)).isoformat(),
        },
        headers=grace,
    )
    assert second.status_code == 201, second.text
    service.clock.advance(timedelta(days=1, hours=3))
    await sweep_missed_sessions(service.sessions, service.clock.now(), 100)
    document = await service.document(pair_id)
    assert document["sessions"][1]["missed_in_a_row"] == 2
    assert _outbox_types(document).count("RelationshipStagnant") == 1
    health = (await service.http.get(f"/pairs/{pair_id}/health", headers=service.auth("ada"))).json()
    assert health["stagnant"]
    assert "missed_sessions_in_a_row" in health["reason_codes"]
    assert "Several sessions in a row were missed." in health["reasons"]
    assert health["severity"] == "medium"
    assert "schedule_the_next_session" in health["suggested_action_codes"]
    assert "Schedule the next session." in health["suggested_actions"]

    await sweep_relationship_health(service.sessions, service.clock.now() + timedelta(days=30), 100)
    assert _outbox_types(await service.document(pair_id)).count("RelationshipStagnant") == 1, (
        "once per episode"
    )

    third = (
        await service.http.post(
            f"/pairs/{pair_id}/sessions",
            json={
                "starts_at": (service.clock.now() + timedelta(hours=1)).isoformat(),
                "ends_at": (service.clock.now() + timedelta(hours=2)).isoformat(),
            },
            headers=grace,
        )
    ).json()
    early = await service.http.post(f"/pairs/{pair_id}/sessions/{third['session_id']}/held", headers=grace)
    assert early.status_code == 409, "not started yet"
    service.clock.advance(timedelta(hours=1, minutes=5))
    held = await service.http.post(f"/pairs/{pair_id}/sessions/{third['session_id']}/held", headers=grace)
    assert held.status_code == 200
    assert held.json()["status"] == "held"
    document = await service.document(pair_id)
    types = _outbox_types(document)
    assert types.count("SessionCompleted") == 1
    assert types.count("RelationshipRecovered") == 1
    stagnant = next(e for e in document["outbox"] if e["type"].endswith("RelationshipStagnant.v1"))
    recovered = next(e for e in document["outbox"] if e["type"].endswith("RelationshipRecovered.v1"))
    assert stagnant["data"]["episode_id"] == recovered["data"]["episode_id"]
    assert not (await service.http.get(f"/pairs/{pair_id}/health", headers=grace)).json()["stagnant"]


async def test_pair_ended_closes_the_relationship_and_cancels_future_sessions(service: Service) -> None:
    pair_id = await service.pair()
    for person in ("ada", "grace"):
        await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth(person))
    ended = PairEnded(
        org_id=service.org,
        version=2,
        pair_id=pair_id,
        program_id="prog-1",
        mentor_id="grace",
        mentee_id="ada",
        reason=PairEndReason.COMPLETED,
        ended_at=service.clock.now(),
    )
    for _ in range(2):  # redelivered: still one cancellation per session
        await service.runtime.consumer.handle_record(
            topic=ended.topic(),
            value=ended.model_dump_json().encode(),
            key=pair_id.encode(),
            headers={
                "ce_specversion": "1.0",
                "ce_id": str(uuid.uuid4()),
                "ce_source": "/test",
                "ce_type": ended.ce_type(),
                "ce_time": service.clock.now().isoformat(),
                "ce_subject": pair_id,
                "content-type": "application/json",
            },
        )
    document = await service.document(pair_id)
    assert document["status"] == "ended"
    assert {s["status"] for s in document["sessions"]} == {"cancelled"}
    assert _outbox_types(document).count("SessionCancelled") == len(document["sessions"]) == 5
    late = await service.http.post(
        f"/pairs/{pair_id}/goals", json={"title": "More"}, headers=service.auth("ada")
    )
    assert late.status_code == 409


async def test_overdue_action_item_and_achieved_goal_are_announced_once(service: Service) -> None:
    pair_id = await service.pair()
    ada = service.auth("ada")
    item = await service.http.post(
        f"/pairs/{pair_id}/action-items",
        json={
            "title": "Read the design doc",
            "owner_id": "ada",
            "due_at": (T0 + timedelta(days=2)).isoformat(),
        },
        headers=ada,
    )
    assert item.status_code == 201, item.text
    assert await sweep_overdue_action_items(service.sessions, T0 + timedelta(days=1), 100) == 0
    service.clock.advance(timedelta(days=3))
    assert await sweep_overdue_action_items(service.sessions, service.clock.now(), 100) == 1
    assert await sweep_overdue_action_items(service.sessions, service.clock.now(), 100) == 0

    goal = (
        await service.http.post(
            f"/pairs/{pair_id}/goals",
            json={"title": "Lead a design review", "milestones": ["draft", "review"]},
            headers=ada,
        )
    ).json()
    for milestone in goal["milestones"]:
        response = await service.http.post(
            f"/pairs/{pair_id}/goals/{goal['goal_id']}/milestones/{milestone['milestone_id']}/done",
            headers=ada,
        )
        assert response.status_code == 200
    assert response.json()["achieved_at"] is not None
    assert response.json()["progress"] == 100
    types = _outbox_types(await service.document(pair_id))
    assert types.count("ActionItemOverdue") == 1
    assert types.count("GoalAchieved") == 1


async def test_bad_input_is_a_problem_and_writes_nothing(service: Service) -> None:
    pair_id = await service.pair()
    ada = service.auth("ada")
    before = await service.document(pair_id)
    now = service.clock.now()
    cases = [
        (
            "post",
            "/sessions",
            {"starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": now.isoformat()},
            422,
        ),
        (
            "post",
            "/sessions",
            {
                "starts_at": (now + timedelta(hours=2)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
            },
            422,
        ),
        ("post", "/sessions", {"starts_at": "tomorrow", "ends_at": "later"}, 422),
        ("put", "/agreement", {"cadence": "hourly"}, 422),
        ("put", "/agreement", {"timezone": "Mars/Olympus"}, 422),
        ("put", "/agreement", {"roles": {"mallory": "mentor"}}, 422),
        ("put", "/agreement", {"ends_on": (now - timedelta(days=1)).isoformat()}, 422),
        ("put", "/agreement", {"surprise": 1}, 422),
        (
            "post",
            "/action-items",
            {"title": "x", "owner_id": "mallory", "due_at": (now + timedelta(days=1)).isoformat()},
            422,
        ),
        (
            "post",
            "/action-items",
            {"title": "x", "owner_id": "ada", "due_at": (now - timedelta(days=1)).isoformat()},
            422,
        ),
        ("post", "/sessions/nope/held", None, 404),
        ("post", "/goals", {"title": ""}, 422),
    ]
    for method, path, body, status in cases:
        response = await service.http.request(method, f"/pairs/{pair_id}{path}", json=body, headers=ada)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    after = await service.document(pair_id)
    assert after["version"] == before["version"]
    assert after["sessions"] == before["sessions"]

    stranger = await service.http.get(f"/pairs/{pair_id}/sessions", headers=service.auth("mallory"))
    assert stranger.status_code == 404
    other_org_admin = await service.http.get(
        f"/pairs/{pair_id}", headers=service.auth("boss", "hr_admin", org="another-org")
    )
    assert other_org_admin.status_code == 404
    admin = await service.http.get(f"/pairs/{pair_id}", headers=service.auth("boss", "program_admin"))
    assert admin.status_code == 200
    admin_write = await service.http.post(
        f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("boss", "program_admin")
    )
    assert admin_write.status_code == 403
    assert (await service.http.get(f"/pairs/{pair_id}/sessions")).status_code == 401


async def test_private_notes_and_feedback_text_are_seen_only_by_their_author_and_never_published(
    service: Service,
) -> None:
    pair_id = await service.pair()
    ada, grace = service.auth("ada"), service.auth("grace")
    kickoff = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=ada)).json()[0]["session_id"]
    agenda = await service.http.post(
        f"/pairs/{pair_id}/sessions/{kickoff}/agenda", json={"text": "My promotion case"}, headers=ada
    )
    assert agenda.status_code == 201
    assert agenda.json()["agenda"][0]["text"] == "My promotion case"
    note = await service.http.post(f"/pairs/{pair_id}/notes", json={"text": "secret worry"}, headers=ada)
    assert note.status_code == 201
    assert [n["text"] for n in (await service.http.get(f"/pairs/{pair_id}/notes", headers=ada)).json()] == [
        "secret worry"
    ]
    assert (await service.http.get(f"/pairs/{pair_id}/notes", headers=grace)).json() == []

    service.clock.advance(timedelta(days=7, minutes=5))
    assert (
        await service.http.post(f"/pairs/{pair_id}/sessions/{kickoff}/held", headers=ada)
    ).status_code == 200
    feedback = await service.http.put(
        f"/pairs/{pair_id}/sessions/{kickoff}/feedback",
        json={"useful": True, "learned": True, "thanks": True, "text": "private words"},
        headers=ada,
    )
    assert feedback.status_code == 200
    assert feedback.json()["my_feedback"]["text"] == "private words"
    seen_by_grace = (await service.http.get(f"/pairs/{pair_id}/sessions/{kickoff}", headers=grace)).json()
    assert seen_by_grace["my_feedback"] is None
    assert seen_by_grace["feedback_from"] == ["ada"]
    outbox = json.dumps([e["data"] for e in (await service.document(pair_id)).get("outbox", [])], default=str)
    assert "secret worry" not in outbox
    assert "private words" not in outbox


async def test_session_as_icalendar_and_reschedule_bumps_its_sequence(service: Service) -> None:
    pair_id = await service.pair()
    grace = service.auth("grace")
    kickoff = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=grace)).json()[0]["session_id"]
    moved_to = T0 + timedelta(days=9, hours=5)
    moved = await service.http.post(
        f"/pairs/{pair_id}/sessions/{kickoff}/reschedule",
        json={
            "starts_at": moved_to.isoformat(),
            "ends_at": (moved_to + timedelta(hours=1)).isoformat(),
            "reason": "travel",
        },
        headers=grace,
    )
    assert moved.status_code == 200, moved.text
    ics = await service.http.get(f"/pairs/{pair_id}/sessions/{kickoff}/calendar.ics", headers=grace)
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    lines = ics.text.split("\r\n")
    assert "DTSTART:20300116T140000Z" in lines
    assert "SEQUENCE:1" in lines
    # The old due date no longer counts: the session is not missed at its original time.
    await sweep_missed_sessions(service.sessions, T0 + timedelta(days=8), 100)
    assert (await service.document(pair_id))["sessions"][0]["status"] == "scheduled"
    cancelled = await service.http.post(
        f"/pairs/{pair_id}/sessions/{kickoff}/cancel", json={"reason": "ill"}, headers=grace
    )
    assert cancelled.json()["cancelled_by"] == "grace"
    ics = await service.http.get(f"/pairs/{pair_id}/sessions/{kickoff}/calendar.ics", headers=grace)
    assert "STATUS:CANCELLED" in ics.text.split("\r\n")


async def test_program_health_is_for_admins_and_paginated(service: Service) -> None:
    pair_ids = sorted([await service.pair() for _ in range(3)])
    service.clock.advance(timedelta(days=7, hours=3))
    await sweep_missed_sessions(service.sessions, service.clock.now(), 100)
    admin = service.auth("boss", "program_admin")
    first = (await service.http.get("/programs/prog-1/health?page=1&page_size=2", headers=admin)).json()
    second = (await service.http.get("/programs/prog-1/health?page=2&page_size=2", headers=admin)).json()
    assert [r["pair_id"] for r in first["items"] + second["items"]] == pair_ids
    assert first["totals"]["pairs"] == 3
    assert first["totals"]["sessions_missed"] == 3
    assert first["totals"]["pairs_active"] == 3
    assert first["totals"]["pairs_at_risk"] == 0
    assert (await service.http.get("/programs/prog-1/health", headers=service.auth("ada"))).status_code == 403
    bad = await service.http.get("/programs/prog-1/health?page=0", headers=admin)
    assert bad.status_code == 422


def _headers(event: Any, subject: str, now: datetime) -> dict[str, str]:
    return {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "/test",
        "ce_type": event.ce_type(),
        "ce_time": now.isoformat(),
        "ce_subject": subject,
        "content-type": "application/json",
    }


async def test_circle_sessions_rotate_the_facilitator_and_all_members_must_sign(service: Service) -> None:
    circle_id = f"circle-{uuid.uuid4().hex[:8]}"
    formed = CircleFormed(
        org_id=service.org,
        version=1,
        circle_id=circle_id,
        program_id="circles",
        member_ids=["ada", "grace", "linus"],
        facilitator_rota=["grace", "linus"],
        topics=["public speaking"],
    )
    outcome = await service.runtime.consumer.handle_record(
        topic=formed.topic(),
        value=formed.model_dump_json().encode(),
        key=circle_id.encode(),
        headers=_headers(formed, circle_id, service.clock.now()),
    )
    assert outcome == "processed"
    for person in ("ada", "grace"):
        await service.http.post(f"/pairs/{circle_id}/agreement/sign", json={}, headers=service.auth(person))
    assert "signed_at" not in (await service.document(circle_id))["agreement"]
    await service.http.post(f"/pairs/{circle_id}/agreement/sign", json={}, headers=service.auth("linus"))
    document = await service.document(circle_id)
    assert document["kind"] == "circle"
    assert document["agreement"]["goals"] == ["public speaking"]
    assert [s["facilitator_id"] for s in document["sessions"]] == [
        "grace",
        "linus",
        "grace",
        "linus",
        "grace",
    ]


async def test_profile_erased_removes_the_persons_notes_and_feedback_text(service: Service) -> None:
    pair_id = await service.pair()
    ada = service.auth("ada")
    await service.http.post(f"/pairs/{pair_id}/notes", json={"text": "about grace"}, headers=ada)
    kickoff = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=ada)).json()[0]["session_id"]
    service.clock.advance(timedelta(days=7, minutes=1))
    await service.http.post(f"/pairs/{pair_id}/sessions/{kickoff}/held", headers=ada)
    await service.http.put(
        f"/pairs/{pair_id}/sessions/{kickoff}/feedback",
        json={"useful": True, "learned": False, "text": "personal"},
        headers=ada,
    )
    erased = ProfileErased(org_id=service.org, version=3, person_id="ada", erased_at=service.clock.now())
    await service.runtime.consumer.handle_record(
        topic=erased.topic(),
        value=erased.model_dump_json().encode(),
        key=b"ada",
        headers=_headers(erased, "ada", service.clock.now()),
    )
    # She is in no pair any more: her id became a pseudonym, her notes are gone.
    assert (await service.http.get(f"/pairs/{pair_id}/notes", headers=ada)).status_code == 404
    assert await service.runtime.db["notes"].count_documents({"author_id": "ada"}) == 0
    document = await service.document(pair_id)
    feedback = document["sessions"][0]["feedback"][pseudonym(service.org, "ada")]
    assert "text" not in feedback  # erased: an empty field is not stored
    stored = json.dumps({k: v for k, v in document.items() if k != "outbox"}, default=str)
    assert "personal" not in stored
    assert '"ada"' not in stored
    assert feedback["learned"] is False  # the answer without words still counts for health


async def test_time_alone_makes_a_silent_pair_stagnant_through_the_health_sweep(service: Service) -> None:
    pair_id = await service.pair()
    assert await sweep_relationship_health(service.sessions, T0 + timedelta(days=13), 100) == 0
    service.clock.advance(timedelta(days=15))
    assert await sweep_relationship_health(service.sessions, service.clock.now(), 100) == 1
    document = await service.document(pair_id)
    stagnant = next(e for e in document["outbox"] if e["type"].endswith("RelationshipStagnant.v1"))
    assert stagnant["data"]["reasons"] == ["no_session_for_2x_cadence", "agreement_unsigned"]
    assert stagnant["data"]["severity"] == "medium"
    assert "review_and_sign_the_agreement" in stagnant["data"]["suggested_actions"]
    assert await sweep_relationship_health(service.sessions, service.clock.now(), 100) == 0


async def test_pair_ended_before_pair_created_leaves_a_closed_relationship_with_no_sessions(
    service: Service,
) -> None:
    pair_id = f"pair-{uuid.uuid4().hex[:8]}"
    ended = PairEnded(
        org_id=service.org,
        version=2,
        pair_id=pair_id,
        program_id="prog-1",
        mentor_id="grace",
        mentee_id="ada",
        reason=PairEndReason.NOT_A_FIT,
        ended_at=service.clock.now(),
    )
    created = PairCreated(
        org_id=service.org,
        version=1,
        pair_id=pair_id,
        program_id="prog-1",
        mentor_id="grace",
        mentee_id="ada",
        score=1,
    )
    for event in (ended, created):  # out of order
        outcome = await service.runtime.consumer.handle_record(
            topic=event.topic(),
            value=event.model_dump_json().encode(),
            key=pair_id.encode(),
            headers=_headers(event, pair_id, service.clock.now()),
        )
        assert outcome == "processed"
    document = await service.document(pair_id)
    assert document["status"] == "ended"
    assert document["sessions"] == []
    assert document.get("outbox", []) == []
