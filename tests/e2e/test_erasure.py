"""Right to be forgotten, end to end: after a person is erased, no service's database holds their
name, email or free text (only anonymous facts, like that a pair existed)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.e2e.test_flow import Platform, _auth, platform  # noqa: F401  (the module's fleet)
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SERVICES = ("profiles", "matching", "sessions", "notifications")


async def _traces_of(mongo: AsyncMongoClient[dict[str, Any]], prefix: str, needles: list[str]) -> list[str]:
    """Every place (service.collection) where one of `needles` still appears."""
    found = []
    for service in SERVICES:
        database = mongo[f"{prefix}{service}"]
        for name in await database.list_collection_names():
            async for document in database[name].find({}):
                text = json.dumps(document, default=str).lower()
                found += [f"{service}.{name}: {needle}" for needle in needles if needle in text]
    return found


async def test_erased_person_leaves_no_name_email_or_free_text_in_any_service(
    platform: Platform,  # noqa: F811
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    secret_goal = f"become the first staff engineer of team {uuid.uuid4().hex[:6]}"
    ada = {
        "display_name": "Ada Lovelace", "email": "ada.lovelace@example.com", "roles": ["mentee"],
        "goals": secret_goal, "skills_wanted": ["python"], "title": "Analytical engine programmer",
    }  # fmt: skip
    grace = {
        "display_name": "Grace Hopper",
        "email": "grace@example.com",
        "roles": ["mentor"],
        "mentor_capacity": 1,
    }
    async with httpx.AsyncClient(timeout=10) as http:
        profiles = platform.url("profiles")
        for person, body in (("ada", ada), ("grace", grace)):
            response = await http.post(f"{profiles}/profiles", headers=_auth(org, person), json=body)
            assert response.status_code == 201, response.text

        async def grace_notified() -> bool:
            url = f"{platform.url('notifications')}/notifications"
            feed = await http.get(url, params={"recipient": "grace"}, headers=_auth(org, "grace"))
            return any("Ada Lovelace" in item["title"] for item in feed.json()["items"])

        await eventually(grace_notified, timeout=60, what="grace's notification naming ada")
        needles = ["ada lovelace", "ada.lovelace@example.com", secret_goal, "analytical engine programmer"]
        assert await _traces_of(mongo, platform.database_prefix, needles), (
            "the test must see ada before erasure"
        )

        erased = await http.delete(f"{profiles}/profiles/ada", headers=_auth(org, "ada"))
        assert erased.status_code == 204

        async def forgotten() -> bool:
            return not await _traces_of(mongo, platform.database_prefix, needles)

        await eventually(forgotten, timeout=120, interval=0.5, what="every service to forget ada")
    candidates = mongo[f"{platform.database_prefix}matching"]["candidates"]

    async def anonymised() -> dict[str, Any] | None:
        # Matching never held the needles, so the scan above can pass before it handled the erasure.
        return await candidates.find_one({"org_id": org, "role": "mentee", "status": "erased"})

    kept = await eventually(
        anonymised, timeout=60, interval=0.5, what="matching to keep the pair anonymously"
    )
    assert kept["person_id"] == "erased"
    assert kept["pair"]["pair_id"]
    assert kept["pair"]["reasons"] == []
