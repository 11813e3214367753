"""Several mentors per mentee, one per focus area: a program with `mentors_per_mentee` gives each
mentee a seat per wanted skill (in their order); seats are matched in turn, never twice to the same
mentor, in cohort runs and continuously, and a seat that ends is rematched on its own."""

from __future__ import annotations

from typing import Any

from mentorship_schemas import PairCreated, PairEnded

from tests.matching.conftest import Matching, auth, candidate
from tests.matching.flow_support import outbox_drained


async def _setup(matching: Matching, program: dict[str, Any]) -> dict[str, str]:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    created = await http.post("/programs", json=program, headers=admin)
    assert created.status_code == 201, created.text
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python", "leadership"], level="junior"),
            # The best mentor for both of ada's focus areas, with room for two.
            candidate(
                org,
                "mira",
                "mentor",
                skills_offered=["python", "leadership"],
                level="lead",
                capacity=2,
                skill_levels={"python": "expert", "leadership": "expert"},
            ),
            candidate(org, "sam", "mentor", skills_offered=["leadership"], level="senior"),
            candidate(org, "pat", "mentor", skills_offered=["python"], level="senior"),
        ]
    )
    return admin


def focus_pairs(pairs: list[dict[str, Any]]) -> set[tuple[str, str | None, str]]:
    return {(p["mentee_id"], p["focus"], p["mentor_id"]) for p in pairs}


async def test_a_cohort_run_gives_each_focus_area_its_own_mentor(matching: Matching) -> None:
    http, org = matching.http, matching.org
    admin = await _setup(
        matching, {"program_id": "multi", "name": "Two mentors", "continuous": False, "mentors_per_mentee": 2}
    )
    joined = await http.post("/programs/multi/join", json={}, headers=auth(org, "ada"))
    assert joined.status_code == 200, joined.text
    seats = await matching.candidates.find({"org_id": org, "person_id": "ada"}).to_list()
    assert sorted((s.get("seat"), s.get("focus"), s["status"]) for s in seats) == [
        (1, "python", "waiting"),
        (2, "leadership", "waiting"),
    ]

    preview = (await http.post("/programs/multi/cohort-runs", json={"apply": False}, headers=admin)).json()
    # mira is the best for both areas; the second seat may not take her again.
    assert focus_pairs(preview["pairs"]) == {("ada", "python", "mira"), ("ada", "leadership", "sam")}
    assert (preview["mentees"], preview["matched"], preview["optimal"]) == (2, 2, True)
    assert "seat 1" in preview["optimality"]
    assert "seat 2" in preview["optimality"]

    run = (await http.post("/programs/multi/cohort-runs", json={}, headers=admin)).json()
    assert run["applied"]["made"] == 2
    pairs = (await http.get("/pairs", headers=auth(org, "ada"))).json()
    assert focus_pairs(pairs) == {("ada", "python", "mira"), ("ada", "leadership", "sam")}
    await outbox_drained(matching)
    created = await matching.events(PairCreated, until=lambda events: len(events) >= 2)
    assert {(e["focus_area"], e["mentor_id"]) for e in created} == {("python", "mira"), ("leadership", "sam")}
    # Nothing waits any more: a re-run matches nobody.
    rerun = (await http.post("/programs/multi/cohort-runs", json={}, headers=admin)).json()
    assert (rerun["mentees"], rerun["matched"]) == (0, 0)


async def test_continuous_matching_fills_every_seat_and_an_ended_seat_is_rematched_alone(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    await _setup(matching, {"program_id": "multi", "name": "Two mentors", "mentors_per_mentee": 2})
    joined = await http.post("/programs/multi/join", json={}, headers=auth(org, "ada"))
    assert joined.status_code == 200, joined.text
    pairs = (await http.get("/pairs", headers=auth(org, "ada"))).json()
    assert focus_pairs(pairs) == {("ada", "python", "mira"), ("ada", "leadership", "sam")}

    # The leadership pair is not a fit: that seat alone waits again and gets neither sam (its
    # former mentor) nor mira (the person's python mentor); pat does not offer leadership, but
    # one-to-one programs still pair on the other components.
    leadership = next(p for p in pairs if p["focus"] == "leadership")
    ended = await http.post(
        f"/pairs/{leadership['pair_id']}/end", json={"reason": "not_a_fit"}, headers=auth(org, "ada")
    )
    assert ended.status_code == 200, ended.text
    after = (await http.get("/pairs", headers=auth(org, "ada"))).json()
    assert focus_pairs(after) == {("ada", "python", "mira"), ("ada", "leadership", "pat")}
    python = next(p for p in after if p["focus"] == "python")
    assert python["pair_id"] == next(p for p in pairs if p["focus"] == "python")["pair_id"]

    await outbox_drained(matching)
    ends = await matching.events(PairEnded, until=lambda events: len(events) >= 1)
    assert [(e["pair_id"], e["reason"]) for e in ends] == [(leadership["pair_id"], "not_a_fit")]
    # A request names the focus area it is for; an unknown one is refused.
    unknown = await http.post(
        "/requests", json={"mentor_id": "pat", "focus": "cooking"}, headers=auth(org, "ada")
    )
    assert unknown.status_code == 422
