"""The admin cohort run over HTTP, on the real store: optimal explained pairs stored, served and
applied as the program's approval says."""

from __future__ import annotations

import pytest
from matching import store
from matching.domain.seat import seat_key
from matching.use_cases import cohort_runs
from mentorship_schemas import MatchRunCompleted, PairCreated, PairEnded

from tests.matching.conftest import Matching, auth, candidate


async def test_admin_cohort_run_is_optimal_explained_stored_and_org_scoped(matching: Matching) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    created = await http.post(
        "/programs", json={"program_id": "p1", "name": "Spring cohort", "continuous": False}, headers=admin
    )
    assert created.status_code == 201, created.text
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", program_id="p1", skills_wanted=["python"], level="junior"),
            # Reports to mira: the best skill fit, but a pair in the reporting line is never made.
            candidate(
                org, "bob", "mentee", program_id="p1", skills_wanted=["sql"], manager_id="mira", level="mid"
            ),
            # Waits in another program: not part of this run.
            candidate(org, "cyd", "mentee", skills_wanted=["sql"], level="mid"),
            candidate(org, "mira", "mentor", skills_offered=["python", "sql"], capacity=1, level="lead"),
            candidate(org, "sam", "mentor", skills_offered=["sql"], capacity=1, level="senior"),
            candidate(org, "off", "mentor", skills_offered=["python"], capacity=3, status="unavailable"),
        ]
    )
    preview = await http.post("/programs/p1/cohort-runs", json={"apply": False}, headers=admin)
    assert preview.status_code == 201, preview.text
    run = preview.json()
    assert {(p["mentee_id"], p["mentor_id"]) for p in run["pairs"]} == {("ada", "mira"), ("bob", "sam")}
    assert (run["optimal"], run["matched"], run["mentees"], run["preview"]) == (True, 2, 2, True)
    assert run["applied"] is None
    for pair in run["pairs"]:
        assert abs(sum(pair["breakdown"].values()) - pair["score"]) < 1e-9
        assert pair["reasons"]
    again = await http.post("/programs/p1/cohort-runs", json={"apply": False}, headers=admin)
    assert again.json()["run_id"] == run["run_id"]
    # A preview paired nobody.
    assert (await http.get("/pairs", params={"person": "ada"}, headers=admin)).json() == []

    stored = await http.get(f"/cohort-runs/{run['run_id']}", headers=admin)
    assert stored.status_code == 200
    assert stored.json()["input_digest"] == run["input_digest"]
    other_org = await http.get(f"/cohort-runs/{run['run_id']}", headers=auth("org-x", "hr", "program_admin"))
    assert other_org.status_code == 404
    employee = await http.post("/programs/p1/cohort-runs", json={}, headers=auth(org, "ada", "employee"))
    assert employee.status_code == 403
    bad_weights = await http.post(
        "/programs/p1/cohort-runs", json={"weights": {"astrology": 1}}, headers=admin
    )
    assert bad_weights.status_code == 422
    missing = await http.post("/programs/nope/cohort-runs", json={}, headers=admin)
    assert missing.status_code == 404

    # Applied in a final program: the pairs exist at once and are announced.
    applied = await http.post("/programs/p1/cohort-runs", json={}, headers=admin)
    assert applied.status_code == 201, applied.text
    assert applied.json()["applied"] == {"as": "final", "made": 2, "moved": 0, "kept": 0, "skipped": []}
    pairs = (await http.get("/pairs", params={"person": "mira"}, headers=admin)).json()
    assert [(p["mentee_id"], p["program_id"]) for p in pairs] == [("ada", "p1")]
    assert pairs[0]["reasons"]
    assert pairs[0]["breakdown"]
    # Re-running keeps the pairs (minimal disruption): nobody waits in p1 any more.
    rerun = (await http.post("/programs/p1/cohort-runs", json={}, headers=admin)).json()
    assert (rerun["mentees"], rerun["applied"]["made"]) == (0, 0)

    created_events = await matching.events(PairCreated, until=lambda events: len(events) >= 2)
    assert {(e["mentee_id"], e["mentor_id"], e["program_id"]) for e in created_events} == {
        ("ada", "mira", "p1"),
        ("bob", "sam", "p1"),
    }
    summaries = await matching.events(MatchRunCompleted, until=lambda events: len(events) >= 3)
    # One summary per distinct run: the repeated preview announced nothing new.
    assert len({s["run_id"] for s in summaries}) == len(summaries) == 3
    (first,) = [s for s in summaries if s["run_id"] == run["run_id"]]
    assert (first["matched"], first["optimal"]) == (2, True)


async def test_a_rerun_asked_not_to_keep_pairs_moves_only_what_the_optimum_changes(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    program = {"program_id": "p2", "name": "Second cohort", "continuous": False}
    assert (await http.post("/programs", json=program, headers=admin)).status_code == 201
    existing = {
        "pair_id": "pair-ada-sam", "mentor_id": "sam", "program_id": "p2", "score": 0.3, "reasons": [],
        "breakdown": {}, "created_at": matching.clock.now(), "ends_at": None,
    }  # fmt: skip

    def held_by(mentee: str) -> dict[str, object]:
        return {"seat_id": seat_key(org, mentee), "taken_at": matching.clock.now()}

    await matching.candidates.insert_many(
        [
            # ada wants python but was paired with sam (sql) earlier; bob wants sql and waits.
            candidate(
                org,
                "ada",
                "mentee",
                program_id="p2",
                skills_wanted=["python"],
                status="paired",
                pair=existing,
            ),
            candidate(org, "bob", "mentee", program_id="p2", skills_wanted=["sql"]),
            candidate(org, "mira", "mentor", skills_offered=["python"], level="lead"),
            # sam's and pat's one place each is held by their current mentee.
            candidate(org, "sam", "mentor", skills_offered=["sql"], level="lead", places=[held_by("ada")]),
            candidate(
                org,
                "cy",
                "mentee",
                program_id="p2",
                skills_wanted=["go"],
                status="paired",
                pair=existing | {"pair_id": "pair-cy-pat", "mentor_id": "pat"},
            ),
            candidate(org, "pat", "mentor", skills_offered=["go"], level="lead", places=[held_by("cy")]),
        ]
    )
    # Kept: bob can only get mira, and ada stays with sam.
    kept = (await http.post("/programs/p2/cohort-runs", json={"apply": False}, headers=admin)).json()
    assert [(p["mentee_id"], p["mentor_id"], p["change"]) for p in kept["pairs"]] == [("bob", "mira", "new")]

    body = {"apply": False, "keep_existing_pairs": False}
    preview = (await http.post("/programs/p2/cohort-runs", json=body, headers=admin)).json()
    assert {
        (p["mentee_id"], p["mentor_id"], p["change"], p["current_mentor_id"]) for p in preview["pairs"]
    } == {
        ("ada", "mira", "moved", "sam"),
        ("bob", "sam", "new", None),
        ("cy", "pat", "kept", "pat"),
    }
    assert preview["keep_existing_pairs"] is False
    assert preview["optimal"] is True

    applied = (
        await http.post("/programs/p2/cohort-runs", json={"keep_existing_pairs": False}, headers=admin)
    ).json()
    # bob's place with sam is free only once ada has moved: the pair waited for the move.
    assert applied["applied"] == {"as": "final", "made": 1, "moved": 1, "kept": 1, "skipped": []}
    pairs = (await http.get("/pairs", params={"person": "sam"}, headers=admin)).json()
    assert [(p["mentee_id"], p["mentor_id"]) for p in pairs] == [("bob", "sam")]
    ada = (await http.get("/pairs", params={"person": "ada"}, headers=admin)).json()
    assert [p["mentor_id"] for p in ada] == ["mira"]
    cy = (await http.get("/pairs", params={"person": "cy"}, headers=admin)).json()
    assert [p["pair_id"] for p in cy] == ["pair-cy-pat"]
    mentors = {
        d["person_id"]: d["free_slots"]
        async for d in matching.candidates.find({"org_id": org, "role": "mentor"})
    }
    assert mentors == {"mira": 0, "sam": 0, "pat": 0}

    ended = await matching.events(PairEnded, until=lambda events: len(events) >= 1)
    assert [(e["pair_id"], e["reason"]) for e in ended] == [("pair-ada-sam", "other")]
    created = await matching.events(PairCreated, until=lambda events: len(events) >= 2)
    assert {(e["mentee_id"], e["mentor_id"]) for e in created} == {("ada", "mira"), ("bob", "sam")}
    # In a program whose pairs need the mentor's acceptance, moving pairs is only previewed.
    await http.patch("/programs/p2", json={"approval": "mentor_acceptance"}, headers=admin)
    refused = await http.post("/programs/p2/cohort-runs", json={"keep_existing_pairs": False}, headers=admin)
    assert refused.status_code == 422


async def test_a_large_run_is_stored_in_chunks_and_served_in_pages(
    matching: Matching, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks and pages stand in for a 50,000-mentee run, which one document could not hold."""
    monkeypatch.setattr(store, "ITEMS_PER_CHUNK", 2)
    monkeypatch.setattr(cohort_runs, "FIRST_PAGE", 3)
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    assert (
        await http.post(
            "/programs", json={"program_id": "big", "name": "Big", "continuous": False}, headers=admin
        )
    ).status_code == 201
    await matching.candidates.insert_many(
        [candidate(org, f"e{k}", "mentee", program_id="big", skills_wanted=["python"]) for k in range(7)]
        + [candidate(org, f"m{k}", "mentor", skills_offered=["python"]) for k in range(7)]
        + [candidate(org, f"x{k}", "mentee", program_id="big", languages=["ja"]) for k in range(4)]
    )
    run = (await http.post("/programs/big/cohort-runs", json={"apply": False}, headers=admin)).json()
    assert (run["pair_count"], run["unmatched_count"], len(run["pairs"]), len(run["unmatched"])) == (
        7,
        4,
        3,
        3,
    )
    chunks = await matching.runtime.db["match_run_items"].count_documents({"run_id": run["run_id"]})
    assert chunks == 4 + 2  # 7 pairs in chunks of 2, 4 unmatched in chunks of 2
    pages = []
    for offset in (0, 3, 6):
        page = await http.get(
            f"/cohort-runs/{run['run_id']}/pairs", params={"offset": offset, "limit": 3}, headers=admin
        )
        assert page.status_code == 200, page.text
        pages.append(page.json())
    assert [len(p) for p in pages] == [3, 3, 1]
    assert pages[0] == run["pairs"]
    assert sorted(p["mentee_id"] for page in pages for p in page) == [f"e{k}" for k in range(7)]
    unmatched = await http.get(f"/cohort-runs/{run['run_id']}/unmatched", params={"offset": 2}, headers=admin)
    assert unmatched.json()[0] == run["unmatched"][2]
    assert len(unmatched.json()) == 2
    stored = (await http.get(f"/cohort-runs/{run['run_id']}", headers=admin)).json()
    assert stored["pairs"] == run["pairs"]
    other = await http.get(
        f"/cohort-runs/{run['run_id']}/pairs", headers=auth("org-x", "hr", "program_admin")
    )
    assert other.status_code == 404
