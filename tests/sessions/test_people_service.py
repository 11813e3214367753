"""The sessions service with its people read model, against real Kafka and the real store, over
HTTP: profiles shape the drafted agreement (timezones, cadence, modality) and the kick-off (working
hours, first week, before the cadence); PATCH and PUT keep the pre-filled terms; signature events
reach Kafka; calendar invites name people; program health shows names and does not judge new or
ended pairs; erasure ends the person's relationships, in either order with matching's PairEnded."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from mentorship_schemas import (
    CircleFormed,
    Event,
    PairCreated,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
)
from mentorship_schemas.events import PairEndReason, PersonRole
from servicekit.clock import ManualClock
from sessions.app import build, http_app
from sessions.handlers import sweep_missed_sessions
from sessions.store import PEOPLE

from tests.conftest import Infra
from tests.kafka_records import read_topic
from tests.sessions.test_sessions_service import T0, Service, _headers, _settings

PARIS, ROME = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/Rome")


@pytest.fixture
async def service(infra: Infra) -> AsyncIterator[Service]:
    """The service with its default kick-off rule (two days on, in working hours, in the first week)."""
    settings = _settings(infra, f"sessions-people-{uuid.uuid4().hex[:6]}").model_copy(
        update={"kickoff_in_working_hours": True, "first_session_after_seconds": 2 * 86400}
    )
    clock = ManualClock(T0)
    runtime, sessions = build(settings, clock)
    app = http_app(runtime, sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sessions") as http:
        try:
            yield Service(runtime, sessions, clock, http, settings, f"org-{uuid.uuid4().hex[:6]}")
        finally:
            await runtime.stop()


async def _deliver(service: Service, event: Event, key: str) -> None:
    outcome = await service.runtime.consumer.handle_record(
        topic=event.topic(),
        value=event.model_dump_json().encode(),
        key=key.encode(),
        headers=_headers(event, key, service.clock.now()),
    )
    assert outcome == "processed", outcome


def _profile(service: Service, person: str, name: str, timezone: str, role: PersonRole, **facts: Any) -> Any:
    return ProfileRegistered(
        org_id=service.org,
        version=1,
        person_id=person,
        roles=[role],
        display_name=name,
        email=f"{person}@example.com",
        timezone=timezone,
        **facts,
    )


async def _people(service: Service) -> None:
    """Ada (mentee, Paris) and Grace (mentor, Rome, biweekly by video)."""
    await _deliver(
        service,
        _profile(
            service, "ada", "Ada Lovelace", "Europe/Paris", PersonRole.MENTEE, modalities=["chat", "video"]
        ),
        "ada",
    )
    grace = _profile(
        service,
        "grace",
        "Grace Hopper",
        "Europe/Rome",
        PersonRole.MENTOR,
        preferred_cadence="biweekly",
        modalities=["video"],
    )
    await _deliver(service, grace, "grace")


async def _paired(service: Service, pair_id: str | None = None) -> str:
    pair_id = pair_id or f"pair-{uuid.uuid4().hex[:8]}"
    created = PairCreated(
        org_id=service.org,
        version=1,
        pair_id=pair_id,
        program_id="prog-1",
        mentor_id="grace",
        mentee_id="ada",
        score=0.9,
    )
    await _deliver(service, created, pair_id)
    return pair_id


def _ended(service: Service, pair_id: str) -> PairEnded:
    return PairEnded(
        org_id=service.org,
        version=2,
        pair_id=pair_id,
        program_id="prog-1",
        mentor_id="grace",
        mentee_id="ada",
        reason=PairEndReason.ERASED,
        ended_at=service.clock.now(),
    )


def _erased(service: Service, person: str) -> ProfileErased:
    return ProfileErased(org_id=service.org, version=5, person_id=person, erased_at=service.clock.now())


def _outbox(document: dict[str, Any], event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in document.get("outbox", []) if e["type"].split(".")[2] == event_type]


def _when(iso: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(tz)


async def test_profiles_draft_the_agreement_in_paris_and_rome_with_the_mentors_cadence_and_modality(
    service: Service,
) -> None:
    await _people(service)
    # Ada moved to London and back to Paris; an old registration arrives again late.
    first = _profile(service, "ada", "Ada Lovelace", "Europe/London", PersonRole.MENTEE)
    london = ProfileUpdated(**{**first.model_dump(), "version": 2})
    paris = ProfileUpdated(**{**first.model_dump(), "version": 3, "timezone": "Europe/Paris"})
    for event in (london, paris, first, london):
        await _deliver(service, event, "ada")
    pair_id = await _paired(service)
    ada, grace = service.auth("ada"), service.auth("grace")

    agreement = (await service.http.get(f"/pairs/{pair_id}/agreement", headers=ada)).json()
    assert agreement["timezones"] == {"ada": "Europe/Paris", "grace": "Europe/Rome"}
    assert agreement["timezone"] == "Europe/Paris"
    assert (agreement["cadence"], agreement["modality"], agreement["channel"]) == (
        "biweekly",
        "remote",
        "video call",
    )
    assert agreement["local_times"] == {
        "ada": {"timezone": "Europe/Paris", "local_time": "10:00"},
        "grace": {"timezone": "Europe/Rome", "local_time": "10:00"},
    }
    assert agreement["awaiting"] == ["ada", "grace"]
    pair = (await service.http.get(f"/pairs/{pair_id}", headers=grace)).json()
    assert [(p["name"], p["role"]) for p in pair["participants"]] == [
        ("Ada Lovelace", "mentee"),
        ("Grace Hopper", "mentor"),
    ]

    (kickoff,) = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=grace)).json()
    starts, ends = _when(kickoff["starts_at"], PARIS), _when(kickoff["ends_at"], PARIS)
    assert kickoff["kind"] == "kickoff"
    assert starts.weekday() < 5
    assert timedelta(days=2) <= starts - T0 <= timedelta(days=7), (
        "in the first week, not on the pairing's day"
    )
    for tz in (PARIS, ROME):
        assert starts.astimezone(tz).hour >= 9
        assert ends.astimezone(tz).hour <= 17
    assert starts.minute == 0
    assert starts.second == 0
    assert starts.microsecond == 0
    assert kickoff["my_local_time"]["timezone"] == "Europe/Rome"
    assert kickoff["my_local_time"]["starts_at"] == starts.astimezone(ROME).isoformat()

    # Grace moves to New York: her local times follow; the agreed slot (Ada's 10:00) stays.
    grace_registered = _profile(service, "grace", "Grace Hopper", "Europe/Rome", PersonRole.MENTOR)
    moved = ProfileUpdated(
        **{**grace_registered.model_dump(), "version": 2, "timezone": "America/New_York"},
        changed_fields=["timezone"],
    )
    await _deliver(service, moved, "grace")
    agreement = (await service.http.get(f"/pairs/{pair_id}/agreement", headers=grace)).json()
    assert (agreement["revision"], agreement["timezone"]) == (1, "Europe/Paris")
    assert agreement["local_times"]["grace"] == {"timezone": "America/New_York", "local_time": "04:00"}


async def test_patch_changes_one_term_and_put_falls_back_to_the_prefilled_terms_never_to_empty_roles(
    service: Service,
) -> None:
    await _people(service)
    pair_id = await _paired(service)
    ada = service.auth("ada")
    url = f"/pairs/{pair_id}/agreement"
    await service.http.post(f"{url}/sign", json={}, headers=service.auth("grace"))

    patched = await service.http.patch(
        url, json={"cadence": "weekly", "boundaries": "No weekends"}, headers=ada
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["cadence"], body["boundaries"], body["revision"]) == ("weekly", "No weekends", 2)
    assert body["roles"] == {"grace": "mentor", "ada": "mentee"}
    assert body["timezones"] == {"ada": "Europe/Paris", "grace": "Europe/Rome"}
    assert (body["signed_by"], body["awaiting"]) == ([], ["ada", "grace"]), "a change asks everyone again"

    put = await service.http.put(url, json={"goals": ["Lead a design review"]}, headers=ada)
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["goals"] == ["Lead a design review"]
    assert body["roles"] == {"grace": "mentor", "ada": "mentee"}
    assert (body["cadence"], body["boundaries"], body["modality"]) == ("biweekly", None, "remote")

    same = await service.http.patch(url, json={"goals": ["Lead a design review"]}, headers=ada)
    assert same.json()["revision"] == 3, "changing nothing is no new revision"
    document = await service.document(pair_id)
    assert [d["revision"] for d in _outbox(document, "AgreementDrafted")] == [1, 2, 3]

    for bad, field, words in [
        ({"cadence": None}, "cadence", "Cadence needs a value"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a known IANA timezone"),
        ({"local_time": "25:00"}, "local_time", "HH:MM"),
        ({"roles": {"mallory": "mentor"}}, "roles", "is not a member of this pair."),
    ]:
        refused = await service.http.patch(url, json=bad, headers=ada)
        assert refused.status_code == 422, (bad, refused.text)
        (error,) = refused.json()["errors"]
        assert error["field"].startswith(field)
        assert words in error["message"]
        assert "Value error" not in error["message"]
    assert (await service.document(pair_id))["version"] == document["version"], "a refusal writes nothing"


async def test_signature_events_reach_kafka_and_the_cadence_starts_after_the_kickoff(
    service: Service, infra: Infra
) -> None:
    await _people(service)
    pair_id = await _paired(service)
    await service.runtime.start()
    first = await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("ada"))
    assert first.json()["awaiting"] == ["grace"]
    again = await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("ada"))
    assert again.status_code == 200
    await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth("grace"))

    def signed(records: list[Any]) -> bool:
        return any(
            pair_id.encode() in r.value and r.headers["ce_type"].endswith("AgreementSigned.v1")
            for r in records
        )

    records = await read_topic(
        infra.kafka_bootstrap_servers, "mentorship.sessions.v1", until=signed, timeout=60
    )
    mine = [
        (r.headers["ce_type"].split(".")[2], json.loads(r.value))
        for r in records
        if json.loads(r.value).get("pair_id") == pair_id and "Agreement" in r.headers["ce_type"]
    ]
    assert [kind for kind, _ in mine] == ["AgreementDrafted", "AgreementSignatureAdded", "AgreementSigned"]
    assert mine[0][1]["awaiting_ids"] == ["ada", "grace"]
    assert (mine[1][1]["signer_id"], mine[1][1]["awaiting_ids"], mine[1][1]["revision"]) == (
        "ada",
        ["grace"],
        1,
    )

    sessions = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=service.auth("ada"))).json()
    kickoff = next(s for s in sessions if s["kind"] == "kickoff")
    regular = [s for s in sessions if s["kind"] == "cadence"]
    assert len(regular) == 4
    assert all(s["starts_at"] > kickoff["ends_at"] for s in regular)
    assert _when(regular[0]["starts_at"], PARIS) - _when(kickoff["starts_at"], PARIS) == timedelta(days=14)


async def test_a_calendar_invite_names_its_people_with_emails_and_the_mentor_as_organizer(
    service: Service,
) -> None:
    await _people(service)
    pair_id = await _paired(service)
    ada = service.auth("ada")
    kickoff = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=ada)).json()[0]
    ics = await service.http.get(
        f"/pairs/{pair_id}/sessions/{kickoff['session_id']}/calendar.ics", headers=ada
    )
    assert ics.status_code == 200
    calendar = icalendar.Calendar.from_ical(ics.text)
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert (str(event["ORGANIZER"]), event["ORGANIZER"].params["CN"]) == (
        "mailto:grace@example.com",
        "Grace Hopper",
    )
    assert sorted((str(a), a.params["CN"]) for a in event["ATTENDEE"]) == [
        ("mailto:ada@example.com", "Ada Lovelace"),
        ("mailto:grace@example.com", "Grace Hopper"),
    ]
    assert event.decoded("DTSTART") == datetime.fromisoformat(kickoff["starts_at"].replace("Z", "+00:00"))
    assert "urn:mentorship" not in ics.text


@pytest.mark.parametrize("pair_ended_first", [False, True])
async def test_erasure_ends_the_pair_cancels_its_future_sessions_once_and_clears_the_calendar(
    service: Service, pair_ended_first: bool
) -> None:
    await _people(service)
    pair_id = await _paired(service)
    for person in ("ada", "grace"):
        await service.http.post(f"/pairs/{pair_id}/agreement/sign", json={}, headers=service.auth(person))
    service.clock.advance(timedelta(hours=1))
    order = [(_ended(service, pair_id), pair_id), (_erased(service, "ada"), "ada")]
    for event, key in (order if pair_ended_first else order[::-1]) * 2:  # each redelivered too
        await _deliver(service, event, key)

    grace = service.auth("grace")
    pair = (await service.http.get(f"/pairs/{pair_id}", headers=grace)).json()
    assert pair["status"] == "ended"
    sessions = (await service.http.get(f"/pairs/{pair_id}/sessions", headers=grace)).json()
    assert len(sessions) == 5
    assert {s["status"] for s in sessions} == {"cancelled"}, "no future session is left on anyone's calendar"
    assert {s["cancel_code"] for s in sessions} == {"pair_ended"}
    assert (
        sessions[0]["cancel_reason"] == "Cancelled because the pair ended: a participant left the platform."
    )
    document = await service.document(pair_id)
    assert len(_outbox(document, "SessionCancelled")) == 5, (
        "one SessionCancelled per session, whatever the order"
    )
    for session in sessions:
        ics = await service.http.get(
            f"/pairs/{pair_id}/sessions/{session['session_id']}/calendar.ics", headers=grace
        )
        calendar = icalendar.Calendar.from_ical(ics.text)
        (event,) = calendar.walk("VEVENT")
        assert (str(calendar["METHOD"]), str(event["STATUS"])) == ("CANCEL", "CANCELLED")
        assert "Ada Lovelace" not in ics.text
        assert "ada@example.com" not in ics.text
    assert "Ada Lovelace" not in json.dumps(
        await service.runtime.db[PEOPLE].find_one({"person_id": "ada"}), default=str
    )
    pair = (await service.http.get(f"/pairs/{pair_id}", headers=grace)).json()
    assert [p["name"] for p in pair["participants"]] == ["A former participant", "Grace Hopper"]


async def test_a_circle_carries_on_without_an_erased_member_and_ends_when_fewer_than_two_remain(
    service: Service,
) -> None:
    circle_id = f"circle-{uuid.uuid4().hex[:8]}"
    formed = CircleFormed(
        org_id=service.org,
        version=1,
        circle_id=circle_id,
        program_id="circles",
        member_ids=["ada", "grace", "linus"],
        facilitator_rota=["ada", "grace"],
    )
    await _deliver(service, formed, circle_id)
    await _deliver(service, _erased(service, "ada"), "ada")
    circle = (await service.http.get(f"/pairs/{circle_id}", headers=service.auth("grace"))).json()
    assert (circle["status"], circle["participant_ids"]) == ("active", ["grace", "linus"])
    (kickoff,) = (
        await service.http.get(f"/pairs/{circle_id}/sessions", headers=service.auth("grace"))
    ).json()
    assert (kickoff["status"], kickoff["facilitator_id"]) == ("scheduled", "grace")
    await _deliver(service, _erased(service, "linus"), "linus")
    circle = (await service.http.get(f"/pairs/{circle_id}", headers=service.auth("grace"))).json()
    assert circle["status"] == "ended"
    sessions = (await service.http.get(f"/pairs/{circle_id}/sessions", headers=service.auth("grace"))).json()
    assert (
        sessions[0]["cancel_reason"] == "Cancelled because the circle ended: a participant left the platform."
    )


async def test_program_health_shows_names_and_judges_neither_a_new_pair_nor_an_ended_one(
    service: Service,
) -> None:
    await _people(service)
    admin = service.auth("boss", "program_admin")
    stale_id = await _paired(service)
    service.clock.advance(timedelta(days=30))
    await sweep_missed_sessions(service.sessions, service.clock.now(), 100)  # the kick-off passed unattended
    new_id = await _paired(service)  # minutes old
    report = (await service.http.get("/programs/prog-1/health", headers=admin)).json()
    items = {item["pair_id"]: item for item in report["items"]}
    fresh, stale = items[new_id], items[stale_id]
    assert [p["name"] for p in fresh["participants"]] == ["Ada Lovelace", "Grace Hopper"]
    assert (fresh["sessions_due"], fresh["cadence_adherence"]) == (0, None)
    assert fresh["cadence_adherence_note"] == "No session was due yet, so cadence adherence does not apply."
    assert stale["cadence_adherence"] == 0.0
    assert stale["at_risk"]
    assert stale["health"]["stagnant"]
    assert all(" " in reason and reason.endswith(".") for reason in stale["health"]["reasons"])
    assert "agreement_unsigned" in stale["health"]["reason_codes"]
    assert (report["totals"]["pairs_at_risk"], report["totals"]["cadence_adherence"]) == (1, 0.0)

    await _deliver(
        service, _ended(service, stale_id).model_copy(update={"reason": PairEndReason.STAGNANT}), stale_id
    )
    report = (await service.http.get("/programs/prog-1/health", headers=admin)).json()
    stale = next(item for item in report["items"] if item["pair_id"] == stale_id)
    assert (stale["status"], stale["at_risk"], stale["health"]["stagnant"]) == ("ended", False, False)
    assert report["totals"]["pairs_at_risk"] == 0
    at_risk = (await service.http.get("/programs/prog-1/health?at_risk=true", headers=admin)).json()
    assert at_risk["items"] == []
    not_at_risk = (await service.http.get("/programs/prog-1/health?at_risk=false", headers=admin)).json()
    assert sorted(item["pair_id"] for item in not_at_risk["items"]) == sorted([stale_id, new_id])
