"""End to end: the four services as processes on the shared platform clock, with the real time
rules (the kick-off a week after pairing, an hour long, an hour's grace). Moving the clock forward
makes the kick-off pass unattended: SessionMissed and both people told, without waiting a week."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token

from tests.conftest import Infra
from tests.e2e.fleet import SECRET, fleet, fleet_env, new_database_prefix
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
WEEK = 7 * 86400


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceFleet]:
    env = fleet_env(
        infra,
        new_database_prefix("clock"),
        FIRST_SESSION_AFTER_SECONDS=str(WEEK),
        SESSION_DURATION_SECONDS="3600",
        MISSED_GRACE_SECONDS="3600",
    )
    services = fleet(env, tmp_path_factory.mktemp("clock-logs"))
    try:
        services.start()
        yield services
    finally:
        services.stop()


def _auth(org: str, person: str, *roles: str) -> dict[str, str]:
    token = issue_dev_token(SECRET, sub=person, org=org, roles=list(roles or ["employee"]))
    return {"Authorization": f"Bearer {token}"}


async def _kinds(http: httpx.AsyncClient, platform: ServiceFleet, org: str, person: str) -> set[str]:
    response = await http.get(
        f"{platform.services['notifications'].url}/notifications",
        params={"recipient": person},
        headers=_auth(org, person),
    )
    assert response.status_code == 200, response.text
    return {item["kind"] for item in response.json()["items"]}


async def test_moving_the_shared_clock_a_week_makes_the_kickoff_missed_and_both_are_told(
    platform: ServiceFleet,
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    url = {name: service.url for name, service in platform.services.items()}
    admin = _auth(org, "pat", "program_admin")
    async with httpx.AsyncClient(timeout=10) as http:
        for person, body in (
            ("grace", {"roles": ["mentor"], "mentor_capacity": 2, "skills_offered": ["python"]}),
            ("ada", {"roles": ["mentee"], "skills_wanted": ["python"]}),
        ):
            registered = await http.post(
                f"{url['profiles']}/profiles",
                headers=_auth(org, person),
                json={"display_name": person.title(), "email": f"{person}@example.com", **body},
            )
            assert registered.status_code == 201, registered.text
        await eventually(
            lambda: _kinds(http, platform, org, "ada"), timeout=60, what="ada's pair_created notification"
        )
        pair = (await http.get(f"{url['matching']}/pairs", headers=_auth(org, "ada"))).json()[0]

        async def sessions() -> list[dict[str, str]]:
            found = await http.get(f"{url['sessions']}/pairs/{pair['pair_id']}/sessions", headers=admin)
            return list(found.json()) if found.status_code == 200 else []

        kickoff = (await eventually(sessions, timeout=30, what="the kick-off session"))[0]
        starts_at = datetime.fromisoformat(kickoff["starts_at"])
        clock = (await http.get(f"{url['sessions']}/dev/clock", headers=admin)).json()
        assert starts_at - datetime.fromisoformat(clock["now"]) > timedelta(days=6), "a week ahead"
        assert "session_missed" not in await _kinds(http, platform, org, "ada")

        employee = await http.post(
            f"{url['matching']}/dev/clock/advance", headers=_auth(org, "ada"), json={"seconds": WEEK}
        )
        assert employee.status_code == 403
        moved = await http.post(
            f"{url['matching']}/dev/clock/advance", headers=admin, json={"seconds": WEEK + 3 * 3600}
        )
        assert moved.status_code == 200, moved.text
        for name in url:  # every service reads the same platform time
            seen = await eventually(
                lambda name=name: _offset_reached(http, url[name], admin, moved.json()["offset_seconds"]),
                timeout=10,
                what=f"{name} to see the moved clock",
            )
            assert seen

        for person in ("ada", "grace"):
            kinds = await eventually(
                lambda person=person: _missed_told(http, platform, org, person),
                timeout=60,
                what=f"{person}'s session_missed notification",
            )
            assert "session_missed" in kinds
        assert next(s["status"] for s in await sessions()) == "missed"


async def _offset_reached(http: httpx.AsyncClient, base: str, headers: dict[str, str], offset: float) -> bool:
    seen = (await http.get(f"{base}/dev/clock", headers=headers)).json()
    return bool(seen["offset_seconds"] >= offset)


async def _missed_told(
    http: httpx.AsyncClient, platform: ServiceFleet, org: str, person: str
) -> set[str] | None:
    kinds = await _kinds(http, platform, org, person)
    return kinds if "session_missed" in kinds else None
