"""Proposals and requests end to end on the real store and Kafka: an admin approves or rejects what
a cohort run proposes; a mentee asks a mentor, who accepts or declines; unanswered requests expire
to the next best mentor; a mentor who pauses has their open requests declined at once, and one who
registers as available is matched."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from matching.use_cases.sweep import sweep
from mentorship_schemas import (
    MatchProposed,
    MentorAvailable,
    MentorshipRequested,
    MentorUnavailable,
    PairCreated,
    PairDeclined,
    ProfileRegistered,
)
from mentorship_schemas.events import PersonRole

from tests.matching.conftest import Matching, auth, candidate
from tests.matching.flow_support import (
    WAIT,
    at,
    free_slots,
    mentee,
    outbox_drained,
    processed,
    publish_as,
)
from tests.waiting import eventually

# A program where mentees ask mentors themselves and nothing is matched by itself.
ASKING: dict[str, Any] = {
    "program_id": "asking",
    "name": "Ask a mentor",
    "approval": "mentor_acceptance",
    "continuous": False,
    "request_ttl_hours": 48,
}


async def _create_program(matching: Matching, body: dict[str, Any]) -> None:
    created = await matching.http.post(
        "/programs", json=body, headers=auth(matching.org, "hr", "program_admin")
    )
    assert created.status_code == 201, created.text


async def test_admin_approves_one_proposal_into_a_pair_and_rejects_the_other(matching: Matching) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    await _create_program(
        matching,
        {
            "program_id": "approved",
            "name": "Approved pairs",
            "approval": "admin_approval",
            "continuous": False,
        },
    )
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python"], level="junior"),
            candidate(org, "bob", "mentee", program_id="approved", skills_wanted=["sql"], level="mid"),
            candidate(org, "mira", "mentor", skills_offered=["python"], level="lead"),
            candidate(org, "sam", "mentor", skills_offered=["sql"], level="senior"),
        ]
    )
    joined = await http.post("/programs/approved/join", json={}, headers=auth(org, "ada"))
    assert joined.json() == {"person_id": "ada", "program_id": "approved", "status": "waiting"}

    run = await http.post("/programs/approved/cohort-runs", json={}, headers=admin)
    assert run.status_code == 201, run.text
    assert run.json()["applied"] == {"as": "admin_approval", "made": 2, "moved": 0, "kept": 0, "skipped": []}
    run_id = run.json()["run_id"]

    proposed = await matching.events(MatchProposed, until=lambda events: len(events) >= 2)
    assert {(e["mentee_id"], e["mentor_id"], e["program_id"], e["run_id"]) for e in proposed} == {
        ("ada", "mira", "approved", run_id),
        ("bob", "sam", "approved", run_id),
    }
    listed = await http.get("/proposals", params={"program_id": "approved"}, headers=admin)
    assert listed.status_code == 200
    proposals = {p["mentee_id"]: p for p in listed.json()}
    assert {(p["mentee_id"], p["mentor_id"], p["kind"]) for p in proposals.values()} == {
        ("ada", "mira", "proposal"),
        ("bob", "sam", "proposal"),
    }
    assert {p["id"] for p in proposals.values()} == {e["proposal_id"] for e in proposed}
    assert all(p["reasons"] and p["run_id"] == run_id for p in proposals.values())
    assert (await http.get("/proposals", headers=auth(org, "ada"))).status_code == 403
    # A proposal holds the mentor's place but pairs nobody yet.
    assert (await free_slots(matching, "mira"), await free_slots(matching, "sam")) == (0, 0)
    assert (await http.get("/pairs", params={"person": "ada"}, headers=admin)).json() == []

    by_employee = await http.post(f"/proposals/{proposals['ada']['id']}/approve", headers=auth(org, "mira"))
    assert by_employee.status_code == 403
    approved = await http.post(f"/proposals/{proposals['ada']['id']}/approve", headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["outcome"] == "paired"
    pair_id = approved.json()["pair_id"]
    pairs = (await http.get("/pairs", params={"person": "ada"}, headers=admin)).json()
    assert [(p["pair_id"], p["mentor_id"], p["program_id"]) for p in pairs] == [(pair_id, "mira", "approved")]
    again = await http.post(f"/proposals/{proposals['ada']['id']}/approve", headers=admin)
    assert again.status_code == 404

    rejected = await http.post(f"/proposals/{proposals['bob']['id']}/reject", headers=admin)
    assert rejected.status_code == 200, rejected.text
    assert {k: rejected.json()[k] for k in ("id", "outcome", "pair_id")} == {
        "id": proposals["bob"]["id"],
        "outcome": "rejected",
        "pair_id": None,
    }
    # No other mentor is possible for bob (mira is full, sam rejected): he and the admins are told.
    assert rejected.json()["next"]["outcome"] == "unmatched"
    assert "1 full" in rejected.json()["next"]["reason"]
    bob = await mentee(matching, "bob")
    assert (bob["status"], bob["program_id"], "hold" in bob) == ("waiting", "approved", False)
    assert (await free_slots(matching, "sam"), await free_slots(matching, "mira")) == (1, 0)
    assert (await http.get("/proposals", headers=admin)).json() == []

    (created,) = await matching.events(PairCreated, until=lambda events: len(events) >= 1)
    assert (created["pair_id"], created["mentee_id"], created["mentor_id"]) == (pair_id, "ada", "mira")
    (declined,) = await matching.events(PairDeclined, until=lambda events: len(events) >= 1)
    assert (declined["request_id"], declined["mentee_id"], declined["mentor_id"], declined["reason"]) == (
        proposals["bob"]["id"],
        "bob",
        "sam",
        "rejected",
    )


async def test_mentee_asks_a_suggested_mentor_who_accepts_declines_or_sees_it_withdrawn(
    matching: Matching,
) -> None:
    http, org, now = matching.http, matching.org, matching.clock.now()
    await _create_program(matching, ASKING)
    await matching.candidates.insert_many(
        [
            # ada reports to mira, the best fit on skills: mira is never suggested nor asked.
            candidate(
                org, "ada", "mentee", program_id="asking", skills_wanted=["python", "sql"], manager_id="mira"
            ),
            candidate(org, "bob", "mentee", program_id="asking", skills_wanted=["sql"]),
            candidate(org, "mira", "mentor", skills_offered=["python", "sql"], level="lead", capacity=2),
            candidate(org, "sam", "mentor", skills_offered=["python"], level="senior", capacity=2),
            candidate(org, "lee", "mentor", skills_offered=["sql"], level="senior", capacity=2),
        ]
    )
    ada, bob = auth(org, "ada"), auth(org, "bob")

    suggested = await http.get("/suggestions", headers=ada)
    assert suggested.status_code == 200, suggested.text
    suggestions = suggested.json()
    assert {s["mentor_id"] for s in suggestions} == {"sam", "lee"}
    assert [s["score"] for s in suggestions] == sorted((s["score"] for s in suggestions), reverse=True)
    for suggestion in suggestions:
        assert suggestion["reasons"]
        assert abs(sum(suggestion["breakdown"].values()) - suggestion["score"]) < 1e-9

    # Asking one's manager, or someone who is no mentor here, is refused and changes nothing.
    to_manager = await http.post("/requests", json={"mentor_id": "mira"}, headers=ada)
    assert to_manager.status_code == 422
    assert "reporting line" in to_manager.json()["detail"]
    to_nobody = await http.post("/requests", json={"mentor_id": "ghost"}, headers=ada)
    assert to_nobody.status_code == 422
    assert to_nobody.json()["field"] == "mentor_id"
    untouched = await mentee(matching, "ada")
    assert (untouched["status"], untouched["version"], "outbox" in untouched) == ("waiting", 1, False)
    assert await free_slots(matching, "mira") == 2

    message = "I want to get better at Python packaging."
    asked = await http.post("/requests", json={"mentor_id": "sam", "message": message}, headers=ada)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["kind"], request["mentee_id"], request["mentor_id"], request["program_id"]) == (
        "request",
        "ada",
        "sam",
        "asking",
    )
    assert (request["message"], request["automatic"]) == (message, False)
    assert at(request["expires_at"]) == now + timedelta(hours=48)
    assert await free_slots(matching, "sam") == 1
    second = await http.post("/requests", json={"mentor_id": "lee"}, headers=ada)
    assert second.status_code == 409

    assert [r["id"] for r in (await http.get("/requests", headers=auth(org, "sam"))).json()] == [
        request["id"]
    ]
    assert [r["id"] for r in (await http.get("/requests", headers=ada)).json()] == [request["id"]]
    assert (await http.get("/requests", headers=auth(org, "lee"))).json() == []
    assert (await http.post(f"/requests/{request['id']}/accept", headers=auth(org, "lee"))).status_code == 404
    assert (await http.post(f"/requests/{request['id']}/accept", headers=ada)).status_code == 404

    accepted = await http.post(f"/requests/{request['id']}/accept", headers=auth(org, "sam"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["outcome"] == "paired"
    pair_id = accepted.json()["pair_id"]
    (pair,) = (await http.get("/pairs", headers=ada)).json()
    assert (pair["pair_id"], pair["mentor_id"], pair["program_id"]) == (pair_id, "sam", "asking")
    assert await free_slots(matching, "sam") == 1, "the request's place became the pair's"

    # Declined: bob may not ask lee again in this waiting episode.
    to_lee = (await http.post("/requests", json={"mentor_id": "lee"}, headers=bob)).json()
    declined = await http.post(f"/requests/{to_lee['id']}/decline", headers=auth(org, "lee"))
    assert declined.status_code == 200, declined.text
    assert declined.json()["outcome"] == "declined"
    assert (await mentee(matching, "bob"))["status"] == "waiting"
    assert await free_slots(matching, "lee") == 2
    again = await http.post("/requests", json={"mentor_id": "lee"}, headers=bob)
    assert again.status_code == 422
    assert "declined" in again.json()["detail"]

    # Withdrawn: only by the mentee; the mentor may be asked again afterwards.
    to_sam = (await http.post("/requests", json={"mentor_id": "sam"}, headers=bob)).json()
    assert (await http.delete(f"/requests/{to_sam['id']}", headers=auth(org, "sam"))).status_code == 404
    withdrawn = await http.delete(f"/requests/{to_sam['id']}", headers=bob)
    assert withdrawn.status_code == 204
    assert (await mentee(matching, "bob"))["status"] == "waiting"
    assert await free_slots(matching, "sam") == 1
    assert (await http.post("/requests", json={"mentor_id": "sam"}, headers=bob)).status_code == 201

    requested = await matching.events(MentorshipRequested, until=lambda events: len(events) >= 4)
    first = next(e for e in requested if e["request_id"] == request["id"])
    assert (first["mentee_id"], first["mentor_id"], first["message"]) == ("ada", "sam", message)
    assert at(first["answer_by"]) == now + timedelta(hours=48)
    assert "mira" not in {e["mentor_id"] for e in requested}, "nothing was asked of the manager"
    created = await matching.events(PairCreated, until=lambda events: len(events) >= 1)
    assert [(e["pair_id"], e["mentee_id"], e["mentor_id"]) for e in created] == [(pair_id, "ada", "sam")]
    outcomes = await matching.events(PairDeclined, until=lambda events: len(events) >= 2)
    assert {(e["request_id"], e["mentor_id"], e["reason"]) for e in outcomes} == {
        (to_lee["id"], "lee", "declined"),
        (to_sam["id"], "sam", "withdrawn"),
    }


async def _ask_best_mentor(matching: Matching, message: str) -> tuple[dict[str, Any], list[str]]:
    """ada asks her best suggestion; returns the request and the suggested mentors, best first."""
    suggestions = (await matching.http.get("/suggestions", headers=auth(matching.org, "ada"))).json()
    ranked = [s["mentor_id"] for s in suggestions]
    asked = await matching.http.post(
        "/requests", json={"mentor_id": ranked[0], "message": message}, headers=auth(matching.org, "ada")
    )
    assert asked.status_code == 201, asked.text
    return asked.json(), ranked


async def test_an_unanswered_request_expires_and_goes_to_the_next_best_mentor(matching: Matching) -> None:
    http, org = matching.http, matching.org
    await _create_program(matching, {**ASKING, "request_ttl_hours": 24})
    await matching.candidates.insert_many(
        [
            candidate(
                org, "ada", "mentee", program_id="asking", skills_wanted=["python", "sql"], level="junior"
            ),
            candidate(org, "mira", "mentor", skills_offered=["python", "sql"], level="senior"),
            candidate(org, "sam", "mentor", skills_offered=["python"], level="senior"),
            candidate(
                org, "lee", "mentor", skills_offered=["sql"], level="lead", timezone="America/New_York"
            ),
        ]
    )
    message = "Could you help me with query plans?"
    first, ranked = await _ask_best_mentor(matching, message)
    assert len(ranked) == 3

    matching.clock.advance(timedelta(hours=23))
    assert await sweep(matching.context, matching.clock.now()) == 0, "not due yet"
    matching.clock.advance(timedelta(hours=2))
    assert await sweep(matching.context, matching.clock.now()) == 1

    (second,) = (await http.get("/requests", headers=auth(org, "ada"))).json()
    assert (second["mentor_id"], second["automatic"], second["message"]) == (ranked[1], True, message)
    assert at(second["expires_at"]) == matching.clock.now() + timedelta(hours=24)
    assert await free_slots(matching, ranked[0]) == 1, "the expired request's place is given back"
    assert await free_slots(matching, ranked[1]) == 0

    # The next one expires too: the third mentor is asked, never one who let a request lapse.
    matching.clock.advance(timedelta(hours=25))
    assert await sweep(matching.context, matching.clock.now()) == 1
    (third,) = (await http.get("/requests", headers=auth(org, "ada"))).json()
    assert (third["mentor_id"], third["automatic"], third["message"]) == (ranked[2], True, message)
    matching.clock.advance(timedelta(hours=25))
    assert await sweep(matching.context, matching.clock.now()) == 1
    assert (await http.get("/requests", headers=auth(org, "ada"))).json() == []
    assert (await mentee(matching, "ada"))["status"] == "waiting", "nobody left to ask"

    await outbox_drained(matching)
    requested = await matching.events(MentorshipRequested, until=lambda events: len(events) >= 3)
    # Each request is its own record key, so the topic keeps no order between them: compare sets.
    assert {(e["request_id"], e["mentor_id"]) for e in requested} == {
        (first["id"], ranked[0]),
        (second["id"], ranked[1]),
        (third["id"], ranked[2]),
    }
    assert {e["message"] for e in requested} == {message}
    expired = await matching.events(PairDeclined, until=lambda events: len(events) >= 3)
    assert sorted((e["request_id"], e["reason"]) for e in expired) == sorted(
        [(first["id"], "expired"), (second["id"], "expired"), (third["id"], "expired")]
    )


async def test_two_sweeps_at_once_expire_a_request_exactly_once(matching: Matching) -> None:
    org = matching.org
    await _create_program(matching, ASKING)
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", program_id="asking", skills_wanted=["python"]),
            candidate(org, "mira", "mentor", skills_offered=["python"], level="senior"),
            candidate(org, "sam", "mentor", skills_offered=["python"], level="lead"),
        ]
    )
    request, ranked = await _ask_best_mentor(matching, "Hello")
    matching.clock.advance(timedelta(hours=49))

    changed = await asyncio.gather(
        sweep(matching.context, matching.clock.now()),
        sweep(matching.context, matching.clock.now()),
    )
    assert sorted(changed) == [0, 1]
    assert await free_slots(matching, ranked[0]) == 1, "the place is given back once"
    (next_request,) = (await matching.http.get("/requests", headers=auth(org, "ada"))).json()
    assert next_request["mentor_id"] == ranked[1]

    await outbox_drained(matching)
    declined = await matching.events(PairDeclined, until=lambda events: len(events) >= 1)
    assert [(e["request_id"], e["reason"]) for e in declined] == [(request["id"], "expired")]
    requested = await matching.events(MentorshipRequested, until=lambda events: len(events) >= 2)
    assert sorted(e["request_id"] for e in requested) == sorted([request["id"], next_request["id"]])


async def test_a_mentor_who_pauses_has_their_open_request_declined_at_once(matching: Matching) -> None:
    http, org = matching.http, matching.org
    await _create_program(matching, ASKING)
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", program_id="asking", skills_wanted=["python"]),
            candidate(org, "sam", "mentor", skills_offered=["python"], level="senior"),
        ]
    )
    asked = await http.post("/requests", json={"mentor_id": "sam"}, headers=auth(org, "ada"))
    assert asked.status_code == 201, asked.text
    request = asked.json()

    await publish_as(
        matching, "profiles", MentorUnavailable(org_id=org, version=2, person_id="sam", reason="paused")
    )

    async def ada_waits_again() -> bool:
        return bool((await mentee(matching, "ada"))["status"] == "waiting")

    await eventually(ada_waits_again, timeout=WAIT, what="the request to the paused mentor to be declined")
    assert (await http.get("/requests", headers=auth(org, "ada"))).json() == []
    assert (await http.get("/requests", headers=auth(org, "sam"))).json() == []
    sam = await matching.candidates.find_one({"org_id": org, "person_id": "sam", "role": "mentor"})
    assert (sam["status"], sam["unavailable_reason"], sam["availability_version"]) == (
        "unavailable",
        "paused",
        2,
    )
    (declined,) = await matching.events(PairDeclined, until=lambda events: len(events) >= 1)
    assert (declined["request_id"], declined["mentee_id"], declined["mentor_id"], declined["reason"]) == (
        request["id"],
        "ada",
        "sam",
        "mentor_unavailable",
    )


async def test_a_stale_mentor_unavailable_declines_nothing(matching: Matching) -> None:
    """An older MentorUnavailable arriving late (version below the availability already applied)
    neither changes the mentor nor declines their open request."""
    http, org = matching.http, matching.org
    await _create_program(matching, ASKING)
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", program_id="asking", skills_wanted=["python"]),
            candidate(org, "sam", "mentor", skills_offered=["python"], availability_version=5),
        ]
    )
    asked = await http.post("/requests", json={"mentor_id": "sam"}, headers=auth(org, "ada"))
    assert asked.status_code == 201, asked.text
    (event_id,) = await publish_as(
        matching, "profiles", MentorUnavailable(org_id=org, version=4, person_id="sam", reason="paused")
    )
    await processed(matching, event_id)
    assert (await mentee(matching, "ada"))["status"] == "held"
    sam = await matching.candidates.find_one({"org_id": org, "person_id": "sam", "role": "mentor"})
    assert (sam["status"], sam["availability_version"]) == ("available", 5)
    assert [r["id"] for r in (await http.get("/requests", headers=auth(org, "sam"))).json()] == [
        asked.json()["id"]
    ]


async def test_a_mentor_registering_as_available_on_kafka_is_matched_with_a_waiting_mentee(
    matching: Matching,
) -> None:
    org = matching.org
    await matching.candidates.insert_one(candidate(org, "ada", "mentee", skills_wanted=["python"]))
    # What profiles publishes when a mentor registers: both events carry the profile's version 1.
    registered = ProfileRegistered(
        org_id=org, version=1, person_id="grace", roles=[PersonRole.MENTOR], display_name="Grace",
        email="grace@example.com", timezone="Europe/Paris", skills_offered=["python"], languages=["en"],
    )  # fmt: skip
    available = MentorAvailable(org_id=org, version=1, person_id="grace", capacity=2, active_mentees=0)
    _, available_id = await publish_as(matching, "profiles", registered, available)
    await processed(matching, available_id)

    grace = await matching.candidates.find_one({"org_id": org, "person_id": "grace", "role": "mentor"})
    assert grace is not None
    assert (grace["status"], grace["capacity"]) == ("available", 2)
    assert (grace["free_slots"], grace["skills_offered"]) == (1, ["python"]), "one place taken by ada"
    (pair,) = (await matching.http.get("/pairs", headers=auth(org, "ada"))).json()
    assert (pair["mentor_id"], pair["program_id"]) == ("grace", "open")
    (created,) = await matching.events(PairCreated, until=lambda events: len(events) >= 1)
    assert (created["pair_id"], created["mentee_id"], created["mentor_id"]) == (
        pair["pair_id"],
        "ada",
        "grace",
    )


async def test_a_place_freed_by_a_declined_or_expired_request_goes_to_the_next_waiting_mentee(
    matching: Matching,
) -> None:
    """In a continuous program a mentor's place, once given back, is offered at once to whoever
    waits (the declined mentee never again to that mentor)."""
    http, org = matching.http, matching.org
    await _create_program(
        matching, {**ASKING, "program_id": "auto", "continuous": True, "request_ttl_hours": 24}
    )
    await matching.candidates.insert_many(
        [
            candidate(org, person, "mentee", program_id="auto", skills_wanted=["python"])
            for person in ("ada", "bob", "cyd")
        ]
        + [candidate(org, "sam", "mentor", skills_offered=["python"], level="senior")]
    )
    # A join runs continuous matching: sam's only place goes to one request.
    assert (await http.post("/programs/auto/join", json={}, headers=auth(org, "ada"))).status_code == 200

    async def open_request() -> dict[str, Any]:
        (request,) = (await http.get("/requests", headers=auth(org, "sam"))).json()
        return dict(request)

    first = await open_request()
    declined = await http.post(f"/requests/{first['id']}/decline", headers=auth(org, "sam"))
    assert declined.status_code == 200, declined.text
    second = await open_request()
    assert second["mentee_id"] != first["mentee_id"]

    matching.clock.advance(timedelta(hours=25))
    assert await sweep(matching.context, matching.clock.now()) == 1
    third = await open_request()
    assert third["mentee_id"] not in {first["mentee_id"], second["mentee_id"]}
    assert await free_slots(matching, "sam") == 0
