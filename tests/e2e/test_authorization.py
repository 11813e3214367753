"""The portal boundary of all four services as real processes: one authorization table.

No token, an expired token, a bad signature or the wrong audience is 401; a role that may not act
is 403; another org's resource is 404 (no existence leak); and a refused write writes nothing.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from pymongo import AsyncMongoClient

from tests.e2e.fleet import SECRET
from tests.e2e.test_flow import Platform, platform  # noqa: F401  (the module's fleet)
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def _token(org: str, sub: str, roles: list[str], *, secret: str = SECRET, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": sub,
        "org": org,
        "roles": roles,
        "aud": "mentorship-platform",
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode({**payload, **claims}, secret, algorithm="HS256")


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


UNAUTHENTICATED = {
    "no token": None,
    "expired": lambda org: _token(org, "ada", ["employee"], exp=int(time.time()) - 3600),
    "bad signature": lambda org: _token(
        org, "ada", ["employee"], secret="another-secret-of-at-least-32-bytes!!"
    ),
    "wrong audience": lambda org: _token(org, "ada", ["employee"], aud="another-app"),
}


async def test_authorization_table_across_the_four_services(
    platform: Platform,  # noqa: F811
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    ada = _bearer(_token(org, "ada", ["employee"]))
    async with httpx.AsyncClient(timeout=10) as http:
        profiles = platform.url("profiles")
        for person, roles, extra in (("ada", ["mentee"], {}), ("grace", ["mentor"], {"mentor_capacity": 1})):
            body = {"display_name": person, "email": f"{person}@example.com", "roles": roles, **extra}
            created = await http.post(
                f"{profiles}/profiles", headers=_bearer(_token(org, person, ["employee"])), json=body
            )
            assert created.status_code == 201, created.text

        async def paired() -> list[dict[str, Any]] | None:
            response = await http.get(f"{platform.url('matching')}/pairs", headers=ada)
            pairs: list[dict[str, Any]] = response.json()
            return pairs or None

        pair_id = (await eventually(paired, timeout=60, what="ada's pair"))[0]["pair_id"]

        async def relationship_known() -> bool:
            url = f"{platform.url('sessions')}/pairs/{pair_id}/sessions"
            return (await http.get(url, headers=ada)).status_code == 200

        await eventually(relationship_known, timeout=60, what="sessions to know the pair")

        reads = {
            "profiles": f"{profiles}/profiles/ada",
            "matching": f"{platform.url('matching')}/pairs?person=ada",
            "sessions": f"{platform.url('sessions')}/pairs/{pair_id}/sessions",
            "notifications": f"{platform.url('notifications')}/notifications?recipient=ada",
        }
        for service, url in reads.items():
            assert (await http.get(url, headers=ada)).status_code == 200, f"{service}: the owner may read"
            for case, make in UNAUTHENTICATED.items():
                token = make(org) if callable(make) else make
                response = await http.get(url, headers=_bearer(token))
                assert response.status_code == 401, f"{service} with {case}: {response.status_code}"
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["www-authenticate"].startswith("Bearer")
            other_org = await http.get(
                url, headers=_bearer(_token(f"{org}-other", "ada", ["employee", "hr_admin"]))
            )
            assert other_org.status_code in (404, 200), service
            if other_org.status_code == 200:  # a list filtered to the caller's org: nothing of ours leaks
                body = other_org.json()
                items = body if isinstance(body, list) else body["items"]
                assert items == [], f"{service} leaked across orgs"

        wrong_role = {
            "profiles search": f"{profiles}/profiles",
            "someone else's pairs": f"{platform.url('matching')}/pairs?person=grace",
            "someone else's notifications": f"{platform.url('notifications')}/notifications?recipient=grace",
        }
        for case, url in wrong_role.items():
            assert (await http.get(url, headers=ada)).status_code == 403, case

        people = mongo[f"{platform.database_prefix}profiles"]["people"]
        before = await people.count_documents({})
        write = {"display_name": "Intruder", "email": "intruder@example.com", "roles": ["mentee"]}
        for case, make in UNAUTHENTICATED.items():
            token = make(org) if callable(make) else make
            refused = await http.post(f"{profiles}/profiles", headers=_bearer(token), json=write)
            assert refused.status_code == 401, case
        forbidden = await http.post(
            f"{profiles}/profiles", headers=ada, json={**write, "person_id": "intruder"}
        )
        assert forbidden.status_code == 403
        assert await people.count_documents({}) == before, "a refused request wrote something"
