"""End to end: profiles, matching and sessions as real processes on real Kafka and the store, with
sessions' real kick-off rule (two days on, in working hours, within the first week).

Two people register over HTTP (a mentee in Paris, a mentor in Rome who prefers biweekly video
calls) -> they are paired -> the drafted agreement and the kick-off follow their profiles, and the
calendar invite names them. Then the mentee erases her profile -> the pair ends in sessions, every
future session is cancelled and no invite still lists her, whichever of ProfileErased and
matching's PairEnded arrives first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token
from servicekit.erasure import pseudonym

from tests.conftest import Infra
from tests.e2e.fleet import SECRET, fleet, fleet_env, new_database_prefix
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
PARIS, ROME = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/Rome")


@pytest.fixture(scope="module")
def services(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceFleet]:
    env = fleet_env(
        infra,
        new_database_prefix("people"),
        KICKOFF_IN_WORKING_HOURS="true",
        FIRST_SESSION_AFTER_SECONDS=str(2 * 86400),
        SESSION_DURATION_SECONDS="3600",
    )
    running = fleet(env, tmp_path_factory.mktemp("people-logs"), ("profiles", "matching", "sessions"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _auth(org: str, person: str, *roles: str) -> dict[str, str]:
    token = issue_dev_token(SECRET, sub=person, org=org, roles=list(roles or ["employee"]))
    return {"Authorization": f"Bearer {token}"}


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def _register_and_pair(http: httpx.AsyncClient, services: ServiceFleet, org: str) -> str:
    profiles = services.services["profiles"].url
    people = [
        ("grace", {"display_name": "Grace Hopper", "email": "grace@example.com", "roles": ["mentor"],
                   "timezone": "Europe/Rome", "skills_offered": ["python"], "mentor_capacity": 2,
                   "preferred_cadence": "biweekly", "modalities": ["video"]}),
        ("ada", {"display_name": "Ada Lovelace", "email": "ada@example.com", "roles": ["mentee"],
                 "timezone": "Europe/Paris", "skills_wanted": ["python"], "modalities": ["video", "chat"]}),
    ]  # fmt: skip
    for person, body in people:
        response = await http.post(f"{profiles}/profiles", headers=_auth(org, person), json=body)
        assert response.status_code == 201, response.text

    async def paired() -> str | None:
        found = await http.get(f"{services.services['matching'].url}/pairs", headers=_auth(org, "ada"))
        return found.json()[0]["pair_id"] if found.status_code == 200 and found.json() else None

    pair_id: str = await eventually(paired, timeout=60, interval=0.3, what="ada and grace to be paired")

    async def drafted() -> bool:
        url = f"{services.services['sessions'].url}/pairs/{pair_id}"
        return (await http.get(url, headers=_auth(org, "ada"))).status_code == 200

    await eventually(drafted, timeout=60, interval=0.3, what="the relationship in sessions")
    return pair_id


async def test_a_pair_in_paris_and_rome_gets_their_timezones_the_mentors_cadence_and_a_working_hours_kickoff(
    services: ServiceFleet,
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    sessions = services.services["sessions"].url
    async with httpx.AsyncClient(timeout=10) as http:
        paired_at = datetime.now(UTC)
        pair_id = await _register_and_pair(http, services, org)
        ada = _auth(org, "ada")
        agreement = (await http.get(f"{sessions}/pairs/{pair_id}/agreement", headers=ada)).json()
        (kickoff,) = (await http.get(f"{sessions}/pairs/{pair_id}/sessions", headers=ada)).json()
        pair = (await http.get(f"{sessions}/pairs/{pair_id}", headers=_auth(org, "grace"))).json()
        ics = await http.get(
            f"{sessions}/pairs/{pair_id}/sessions/{kickoff['session_id']}/calendar.ics", headers=ada
        )

    assert agreement["timezones"] == {"ada": "Europe/Paris", "grace": "Europe/Rome"}
    assert agreement["timezone"] == "Europe/Paris"
    assert (agreement["cadence"], agreement["modality"], agreement["channel"]) == (
        "biweekly",
        "remote",
        "video call",
    )
    assert agreement["roles"] == {"grace": "mentor", "ada": "mentee"}
    assert {p["name"] for p in pair["participants"]} == {"Ada Lovelace", "Grace Hopper"}
    starts, ends = _when(kickoff["starts_at"]), _when(kickoff["ends_at"])
    assert timedelta(days=2) - timedelta(minutes=5) <= starts - paired_at <= timedelta(days=7)
    for tz in (PARIS, ROME):
        local_start, local_end = starts.astimezone(tz), ends.astimezone(tz)
        assert local_start.weekday() < 5
        assert local_start.date() == local_end.date()
        assert local_start.hour >= 9
        assert local_end.hour * 60 + local_end.minute <= 17 * 60
    assert kickoff["local_times"]["grace"]["timezone"] == "Europe/Rome"
    (event,) = icalendar.Calendar.from_ical(ics.text).walk("VEVENT")
    assert str(event["ORGANIZER"]) == "mailto:grace@example.com"
    assert sorted(a.params["CN"] for a in event["ATTENDEE"]) == ["Ada Lovelace", "Grace Hopper"]


async def test_an_erased_mentee_leaves_no_active_pair_and_no_session_on_anyones_calendar(
    services: ServiceFleet,
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    sessions = services.services["sessions"].url
    async with httpx.AsyncClient(timeout=10) as http:
        pair_id = await _register_and_pair(http, services, org)
        grace = _auth(org, "grace")
        for person in ("ada", "grace"):
            signed = await http.post(
                f"{sessions}/pairs/{pair_id}/agreement/sign", json={}, headers=_auth(org, person)
            )
            assert signed.status_code == 200, signed.text
        before = (await http.get(f"{sessions}/pairs/{pair_id}/sessions", headers=grace)).json()
        assert len(before) == 5  # the kick-off and four biweekly sessions

        erased = await http.delete(
            f"{services.services['profiles'].url}/profiles/ada", headers=_auth(org, "ada")
        )
        assert erased.status_code == 204

        async def ended() -> dict[str, Any] | None:
            pair = (await http.get(f"{sessions}/pairs/{pair_id}", headers=grace)).json()
            return pair if pair["status"] == "ended" else None

        pair = await eventually(ended, timeout=60, interval=0.3, what="the pair to end in sessions")
        after = (await http.get(f"{sessions}/pairs/{pair_id}/sessions", headers=grace)).json()
        invites = [
            (
                await http.get(
                    f"{sessions}/pairs/{pair_id}/sessions/{s['session_id']}/calendar.ics", headers=grace
                )
            ).text
            for s in after
        ]
        admin = _auth(org, "boss", "program_admin")
        health = (await http.get(f"{sessions}/programs/{pair['program_id']}/health", headers=admin)).json()

    assert {s["status"] for s in after} == {"cancelled"}
    assert {s["cancel_code"] for s in after} == {"pair_ended"}
    for text in invites:
        calendar = icalendar.Calendar.from_ical(text)
        assert str(calendar["METHOD"]) == "CANCEL"
        assert "Ada Lovelace" not in text
        assert "ada@example.com" not in text
    # Her id became a pseudonym in the pair; she reads as a former participant.
    assert [p["name"] for p in pair["participants"] if p["person_id"] == pseudonym(org, "ada")] == [
        "A former participant"
    ]
    assert "ada" not in [p["person_id"] for p in pair["participants"]]
    (item,) = health["items"]
    assert (item["status"], item["at_risk"]) == ("ended", False)
    assert health["totals"]["pairs_at_risk"] == 0
