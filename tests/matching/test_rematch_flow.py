"""Ending pairs end to end on the real store and Kafka: a pair that is not a fit, or that stagnated
and was escalated, ends and its mentee is paired again with someone else; a completed pair and a
pair past its program's end date end for good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from matching.use_cases.sweep import sweep
from mentorship_schemas import PairCreated, PairEnded, RelationshipStagnant
from mentorship_schemas.events import Severity

from tests.matching.conftest import Matching, auth, candidate
from tests.matching.flow_support import WAIT, at, free_slots, mentee, outbox_drained, publish_as
from tests.waiting import eventually


async def _paired_on_joining(matching: Matching, person_id: str, program_id: str = "open") -> dict[str, Any]:
    """The mentee joins a continuous final program and is paired at once; returns the pair."""
    joined = await matching.http.post(
        f"/programs/{program_id}/join", json={}, headers=auth(matching.org, person_id)
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["status"] == "paired"
    (pair,) = (await matching.http.get("/pairs", headers=auth(matching.org, person_id))).json()
    return dict(pair)


async def test_a_pair_that_is_not_a_fit_ends_and_the_mentee_gets_another_mentor(matching: Matching) -> None:
    http, org = matching.http, matching.org
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python"], level="junior"),
            candidate(org, "mira", "mentor", skills_offered=["python"], level="senior"),
            candidate(org, "sam", "mentor", skills_offered=["python"], level="lead"),
        ]
    )
    first = await _paired_on_joining(matching, "ada")
    former = first["mentor_id"]
    assert first["reasons"]

    outsider = auth(org, "zoe")
    assert (
        await http.post(f"/pairs/{first['pair_id']}/end", json={"reason": "not_a_fit"}, headers=outsider)
    ).status_code == 404
    assert (await http.post(f"/pairs/{first['pair_id']}/escalate", headers=outsider)).status_code == 404
    assert (await http.get(f"/pairs/{first['pair_id']}", headers=outsider)).status_code == 404

    ended = await http.post(
        f"/pairs/{first['pair_id']}/end", json={"reason": "not_a_fit"}, headers=auth(org, "ada")
    )
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"pair_id": first["pair_id"], "reason": "not_a_fit", "rematching": True}
    (second,) = (await http.get("/pairs", headers=auth(org, "ada"))).json()
    assert second["pair_id"] != first["pair_id"]
    assert second["mentor_id"] not in {former, "ada"}
    assert await free_slots(matching, former) == 1, "the former mentor's place is free again"
    assert (await http.get(f"/pairs/{first['pair_id']}", headers=auth(org, "ada"))).status_code == 404
    ada = await mentee(matching, "ada")
    assert ada["previous_mentors"] == [former]
    assert (ada["last_pair"]["pair_id"], ada["last_pair"]["end_reason"]) == (first["pair_id"], "not_a_fit")

    # Ending with "completed" is final even with a free, fitting mentor around (the former one is
    # excluded; lee is new).
    await matching.candidates.insert_one(candidate(org, "lee", "mentor", skills_offered=["python"]))
    completed = await http.post(
        f"/pairs/{second['pair_id']}/end",
        json={"reason": "completed"},
        headers=auth(org, second["mentor_id"]),
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["rematching"] is False
    assert (await mentee(matching, "ada"))["status"] == "ended"
    assert (await http.get("/pairs", headers=auth(org, "ada"))).json() == []
    bad_reason = await http.post(
        f"/pairs/{second['pair_id']}/end", json={"reason": "bored"}, headers=auth(org, "ada")
    )
    assert bad_reason.status_code == 422

    await outbox_drained(matching)
    created = await matching.events(PairCreated, until=lambda events: len(events) >= 2)
    assert sorted((e["pair_id"], e["mentor_id"]) for e in created) == sorted(
        [(first["pair_id"], former), (second["pair_id"], second["mentor_id"])]
    ), "no pair after the completed one"
    ends = await matching.events(PairEnded, until=lambda events: len(events) >= 2)
    assert sorted((e["pair_id"], e["reason"]) for e in ends) == sorted(
        [(first["pair_id"], "not_a_fit"), (second["pair_id"], "completed")]
    )


async def test_an_escalated_stagnation_signal_ends_the_pair_and_rematches(matching: Matching) -> None:
    http, org = matching.http, matching.org
    await matching.candidates.insert_many(
        [
            candidate(org, "bob", "mentee", skills_wanted=["sql"], level="mid"),
            candidate(org, "mira", "mentor", skills_offered=["sql"], level="senior"),
            candidate(org, "sam", "mentor", skills_offered=["sql"], level="lead"),
        ]
    )
    pair = await _paired_on_joining(matching, "bob")
    pair_id, former = pair["pair_id"], pair["mentor_id"]

    early = await http.post(f"/pairs/{pair_id}/escalate", headers=auth(org, "bob"))
    assert early.status_code == 409
    assert "no open stagnation signal" in early.json()["detail"]

    signal = RelationshipStagnant(
        org_id=org,
        version=1,
        pair_id=pair_id,
        episode_id="episode-1",
        participant_ids=["bob", former],
        reasons=["no_session_for_2x_cadence"],
        severity=Severity.MEDIUM,
        suggested_actions=["schedule_a_session"],
    )
    await publish_as(matching, "sessions", signal)

    async def stagnation_shown() -> Any:
        return (await http.get(f"/pairs/{pair_id}", headers=auth(org, "bob"))).json().get("stagnation")

    stagnation = await eventually(stagnation_shown, timeout=WAIT, what="the stagnation signal on the pair")
    assert (stagnation["episode_id"], stagnation["severity"], stagnation["reasons"]) == (
        "episode-1",
        Severity.MEDIUM.value,
        ["no_session_for_2x_cadence"],
    )
    assert (await http.post(f"/pairs/{pair_id}/escalate", headers=auth(org, "zoe"))).status_code == 404

    escalated = await http.post(f"/pairs/{pair_id}/escalate", headers=auth(org, former))
    assert escalated.status_code == 200, escalated.text
    (again,) = (await http.get("/pairs", headers=auth(org, "bob"))).json()
    assert escalated.json() == {
        "pair_id": pair_id,
        "reason": "stagnant",
        "rematching": True,
        "rematch": {
            "outcome": "paired",
            "id": again["pair_id"],
            "mentor_id": again["mentor_id"],
            "reason": None,
        },
    }
    assert again["mentor_id"] not in {former, "bob"}
    assert again["stagnation"] is None

    (ended,) = await matching.events(PairEnded, until=lambda events: len(events) >= 1)
    assert (ended["pair_id"], ended["reason"], ended["mentor_id"]) == (pair_id, "stagnant", former)
    assert at(ended["ended_at"]) == matching.clock.now()
    created = await matching.events(PairCreated, until=lambda events: len(events) >= 2)
    assert {(e["pair_id"], e["mentor_id"]) for e in created} == {
        (pair_id, former),
        (again["pair_id"], again["mentor_id"]),
    }


async def test_pairs_of_a_skills_based_program_end_on_its_end_date(matching: Matching) -> None:
    http, org = matching.http, matching.org
    ends_on = datetime(2026, 4, 1, tzinfo=UTC)
    created = await http.post(
        "/programs",
        json={
            "program_id": "sql-sprint",
            "name": "SQL sprint",
            "type": "skills_based",
            "focus_skill": "sql",
            "ends_on": ends_on.isoformat(),
        },
        headers=auth(org, "hr", "program_admin"),
    )
    assert created.status_code == 201, created.text
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["sql", "python"]),
            # mira offers more, but not the focus skill: only sam can mentor in this program.
            candidate(org, "mira", "mentor", skills_offered=["python"], level="lead"),
            candidate(org, "sam", "mentor", skills_offered=["sql"], level="senior"),
        ]
    )
    pair = await _paired_on_joining(matching, "ada", "sql-sprint")
    assert (pair["mentor_id"], pair["program_id"], at(pair["ends_at"])) == ("sam", "sql-sprint", ends_on)

    matching.clock.set(ends_on - timedelta(minutes=1))
    assert await sweep(matching.context, matching.clock.now()) == 0
    matching.clock.set(ends_on + timedelta(hours=1))
    assert await sweep(matching.context, matching.clock.now()) == 1

    assert (await http.get("/pairs", headers=auth(org, "ada"))).json() == []
    ada = await mentee(matching, "ada")
    assert (ada["status"], ada["last_pair"]["end_reason"]) == ("ended", "completed")
    assert await free_slots(matching, "sam") == 1
    assert await sweep(matching.context, matching.clock.now()) == 0, "ended once"
    (ended,) = await matching.events(PairEnded, until=lambda events: len(events) >= 1)
    assert (ended["pair_id"], ended["reason"], ended["program_id"]) == (
        pair["pair_id"],
        "completed",
        "sql-sprint",
    )
    assert at(ended["ended_at"]) == ends_on + timedelta(hours=1)
