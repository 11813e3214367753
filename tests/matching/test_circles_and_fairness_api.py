"""Circles formed over HTTP and announced on Kafka; a program's fairness floor fed by the
restricted inclusion topic and enforced by the solver. Real store, real Kafka."""

from __future__ import annotations

import asyncio
from typing import Any

from mentorship_schemas import CircleFormed, InclusionAttributesChanged

from tests.matching.conftest import Matching, auth, candidate
from tests.matching.flow_support import publish_as

DEPARTMENTS = ["eng", "sales", "ops"]
LEVELS = ["junior", "junior", "junior", "junior", "mid", "senior", "senior", "senior", "senior"]


async def test_circles_are_formed_once_announced_and_repaired_after_a_crash(matching: Matching) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    program = {"program_id": "circles", "name": "Leadership circles", "type": "circles", "continuous": False}
    assert (await http.post("/programs", json=program, headers=admin)).status_code == 201
    people = [f"p{k}" for k in range(9)]
    await matching.candidates.insert_many(
        [
            candidate(
                org,
                person,
                "mentee",
                program_id="circles",
                level=LEVELS[k],
                department=DEPARTMENTS[k % 3],
                skills_wanted=["leadership", "negotiation" if k % 2 else "hiring"],
            )
            for k, person in enumerate(people)
        ]
    )
    employee = await http.post("/programs/circles/circles", headers=auth(org, "p0"))
    assert employee.status_code == 403
    formed = await http.post("/programs/circles/circles", headers=admin)
    assert formed.status_code == 201, formed.text
    circles = formed.json()["circles"]
    assert sorted(len(c["member_ids"]) for c in circles) == [4, 5]
    assert sorted(m for c in circles for m in c["member_ids"]) == people
    assert formed.json()["waiting"] == []
    for circle in circles:
        assert sorted(circle["facilitator_rota"]) == sorted(circle["member_ids"])
        assert "leadership" in circle["topics"]
        assert len({DEPARTMENTS[int(m[1:]) % 3] for m in circle["member_ids"]}) >= 2
    # Nobody waits any more: a second run forms nothing new.
    again = await http.post("/programs/circles/circles", headers=admin)
    assert again.json() == {"program_id": "circles", "circles": [], "waiting": []}
    mine = (await http.get("/circles", headers=auth(org, "p3"))).json()
    assert len(mine) == 1
    assert "p3" in mine[0]["member_ids"]

    # A crash after claiming members but before storing their circle: the next run repairs it.
    orphan = {
        "circle_id": "orphan-circle", "org_id": org, "program_id": "circles", "member_ids": ["q1", "q2"],
        "facilitator_rota": ["q2", "q1"], "topics": ["hiring"], "created_at": matching.clock.now(),
    }  # fmt: skip
    await matching.candidates.insert_many(
        [
            candidate(org, q, "mentee", program_id="circles", status="in_circle", circle=orphan)
            for q in ("q1", "q2")
        ]
    )
    await http.post("/programs/circles/circles", headers=admin)

    announced = await matching.events(CircleFormed, until=lambda events: len(events) >= 3)
    assert sorted(sorted(e["member_ids"]) for e in announced) == sorted(
        [sorted(c["member_ids"]) for c in circles] + [["q1", "q2"]]
    )
    not_circles = {"program_id": "one", "name": "One to one", "continuous": False}
    assert (await http.post("/programs", json=not_circles, headers=admin)).status_code == 201
    assert (await http.post("/programs/one/circles", headers=admin)).status_code == 422
    assert (await http.post("/programs/circles/cohort-runs", json={}, headers=admin)).status_code == 422


async def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the consumer"
        await asyncio.sleep(0.2)


async def test_fairness_floor_from_the_restricted_topic_changes_the_optimum(matching: Matching) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    fair = {
        "program_id": "fair", "name": "Inclusive cohort", "continuous": False,
        "fairness": {"attribute": "first_generation", "value": "yes", "min_match_rate": 1.0},
    }  # fmt: skip
    plain = {"program_id": "plain", "name": "Plain cohort", "continuous": False}
    for body in (fair, plain):
        assert (await http.post("/programs", json=body, headers=admin)).status_code == 201
    # One place; bob fits far better, ada belongs to the consented group.
    mentor = candidate(
        org, "mira", "mentor", skills_offered=["python", "sql"], level="lead", department="data"
    )
    await matching.candidates.insert_many(
        [
            mentor,
            candidate(org, "ada", "mentee", program_id="plain", level="lead", department="data"),
            candidate(
                org, "bob", "mentee", program_id="plain", skills_wanted=["python", "sql"], level="junior"
            ),
        ]
    )
    await publish_as(
        matching,
        "profiles",
        InclusionAttributesChanged(
            org_id=org, version=2, person_id="ada", consented=True, attributes={"first_generation": "yes"}
        ),
    )
    inclusion = matching.runtime.db["inclusion"]

    async def stored() -> bool:
        return await inclusion.find_one({"person_id": "ada", "org_id": org}) is not None

    await _wait_for(stored)
    baseline = (await http.post("/programs/plain/cohort-runs", json={"apply": False}, headers=admin)).json()
    assert [(p["mentee_id"], p["mentor_id"]) for p in baseline["pairs"]] == [("bob", "mira")]

    await matching.candidates.update_many({"org_id": org, "role": "mentee"}, {"$set": {"program_id": "fair"}})
    matching.wrote_behind_its_back()
    run = (await http.post("/programs/fair/cohort-runs", json={"apply": False}, headers=admin)).json()
    assert [(p["mentee_id"], p["mentor_id"]) for p in run["pairs"]] == [("ada", "mira")]
    assert run["fairness_group_size"] == 1
    assert run["fairness"]
    assert run["optimal"] is True

    # Consent withdrawn: the attributes are forgotten, and the floor covers nobody.
    await publish_as(
        matching,
        "profiles",
        InclusionAttributesChanged(org_id=org, version=3, person_id="ada", consented=False, attributes={}),
    )

    async def forgotten() -> bool:
        document = await inclusion.find_one({"person_id": "ada", "org_id": org})
        return document is not None and document["attributes"] == {}

    await _wait_for(forgotten)
    after = (await http.post("/programs/fair/cohort-runs", json={"apply": False}, headers=admin)).json()
    assert after["fairness_group_size"] == 0
    assert [(p["mentee_id"], p["mentor_id"]) for p in after["pairs"]] == [("bob", "mira")]
