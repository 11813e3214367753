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
    # Her words are this test's alone: the services read the shared topics from the start, so other
    # tests' people (another "Ada Lovelace" in another org) are in these databases too.
    suffix = "".join(chr(ord("a") + int(digit, 16) % 26) for digit in uuid.uuid4().hex[:8])
    name, email = f"Ada Lovelace {suffix}", f"ada.lovelace.{suffix}@example.com"
    ada = {
        "display_name": name, "email": email, "roles": ["mentee"],
        "goals": secret_goal, "skills_wanted": ["python"], "title": f"Analytical engine programmer {suffix}",
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
            return any(name in item["title"] for item in feed.json()["items"])

        await eventually(grace_notified, timeout=60, what="grace's notification naming ada")
        needles = [name.lower(), email, secret_goal, f"analytical engine programmer {suffix}"]
        assert await _traces_of(mongo, platform.database_prefix, needles), (
            "the test must see ada before erasure"
        )

        erased = await http.delete(f"{profiles}/profiles/ada", headers=_auth(org, "ada"))
        assert erased.status_code == 204

        left: list[str] = []

        async def forgotten() -> bool:
            left[:] = await _traces_of(mongo, platform.database_prefix, needles)
            return not left

        try:
            await eventually(forgotten, timeout=120, interval=0.5, what="every service to forget ada")
        except AssertionError as error:
            raise AssertionError(f"{error}; still there: {left}") from None
    candidates = mongo[f"{platform.database_prefix}matching"]["candidates"]

    async def anonymised() -> dict[str, Any] | None:
        # Matching never held the needles, so the scan above can pass before it handled the erasure.
        return await candidates.find_one({"org_id": org, "role": "mentee", "status": "erased"})

    kept = await eventually(
        anonymised, timeout=60, interval=0.5, what="matching to keep the pair anonymously"
    )
    assert kept["person_id"] == "erased"
    assert "pair" not in kept, "her pair ended with her erasure"
    assert kept["last_pair"]["pair_id"]
    assert kept["last_pair"]["reasons"] == []


async def _loads(
    mongo: AsyncMongoClient[dict[str, Any]], prefix: str, org: str, mentor: str
) -> dict[str, Any]:
    """The mentor's load as each service stores it."""
    person = await mongo[f"{prefix}profiles"]["people"].find_one({"org_id": org, "person_id": mentor})
    candidate = await mongo[f"{prefix}matching"]["candidates"].find_one(
        {"org_id": org, "person_id": mentor, "role": "mentor"}
    )
    relationships = mongo[f"{prefix}sessions"]["relationships"]
    active = await relationships.count_documents({"org_id": org, "mentor_id": mentor, "status": "active"})
    assert person is not None
    assert candidate is not None
    return {
        "profiles": len(person["active_pair_ids"]),
        "matching": len(candidate.get("places", [])),
        "sessions": active,
    }


async def test_after_a_mentees_erasure_her_pair_ends_everywhere_and_the_mentors_load_agrees(
    platform: Platform,  # noqa: F811
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    """Issue 11, defect 2: matching ends the pair (PairEnded, erased); sessions closes the
    relationship and cancels what was planned, profiles frees the mentor's place, the mentor is told."""
    org, prefix = f"org-{uuid.uuid4().hex[:8]}", platform.database_prefix
    people = {
        "eve": {"display_name": "Eve", "email": "eve@example.com", "roles": ["mentee"]},
        "max": {"display_name": "Max", "email": "max@example.com", "roles": ["mentor"], "mentor_capacity": 1},
    }
    relationships = mongo[f"{prefix}sessions"]["relationships"]
    async with httpx.AsyncClient(timeout=10) as http:
        for person, body in people.items():
            response = await http.post(
                f"{platform.url('profiles')}/profiles", headers=_auth(org, person), json=body
            )
            assert response.status_code == 201, response.text

        async def paired() -> str | None:
            found = await relationships.find_one({"org_id": org, "mentee_id": "eve", "status": "active"})
            return None if found is None else str(found["_id"])

        pair_id = await eventually(paired, timeout=60, what="eve and max paired, with a relationship")
        full = {"profiles": 1, "matching": 1, "sessions": 1}

        async def counted_once() -> bool:
            return await _loads(mongo, prefix, org, "max") == full

        await eventually(counted_once, timeout=60, what="max's one mentee counted by every service")

        erased = await http.delete(f"{platform.url('profiles')}/profiles/eve", headers=_auth(org, "eve"))
        assert erased.status_code == 204

        async def freed() -> bool:
            return await _loads(mongo, prefix, org, "max") == {"profiles": 0, "matching": 0, "sessions": 0}

        await eventually(freed, timeout=60, interval=0.5, what="max's place free in every service")
        relationship = await relationships.find_one({"_id": pair_id})
        assert relationship is not None
        assert (relationship["status"], relationship["end_reason"]) == ("ended", "erased")
        planned = [s for s in relationship["sessions"] if s["status"] == "scheduled"]
        assert planned == [], "no session left on the mentor's calendar"

        async def max_told() -> bool:
            feed = await http.get(
                f"{platform.url('notifications')}/notifications",
                params={"recipient": "max"},
                headers=_auth(org, "max"),
            )
            return any(item["kind"] == "pair_ended" for item in feed.json()["items"])

        await eventually(max_told, timeout=60, what="max told that the mentorship ended")
