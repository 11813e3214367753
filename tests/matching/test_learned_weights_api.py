"""Learned weights over HTTP against the real app, store and Kafka: an admin fits and previews weights on
a program's past pairs, adopts them (the program's weights change, as a version naming the admin), lists
the versions, reverts; cohort runs then score with the program's weights. Employees get 403; bad input
a problem naming the field; nothing is adopted by itself. A proposal first writes the start of the records
of pairs that last (from their seats)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from matching.domain.candidate import ProfileFacts
from matching.domain.outcome_record import Counted, OutcomeChange
from matching.domain.programs import COMPONENTS, DEFAULT_WEIGHTS
from matching.domain.seat import MenteeSeat, SeatStatus
from matching.domain.seat_parts import Pair
from matching.use_cases import outcomes
from matching.use_cases.context import Matching as MatchingContext

from tests.matching.conftest import Matching, auth, candidate

PROBLEM = "application/problem+json"


async def _past_pairs(context: MatchingContext, org: str, program_id: str, count: int = 200) -> None:
    """Ended pairs over about a year, written as matching's handlers write them: they went well when
    the level gap and the timezone fitted, whatever the other components."""
    rng = random.Random(11)
    assert context.learning is not None
    start = datetime(2024, 6, 1, tzinfo=UTC)
    for k in range(count):
        components = {name: round(rng.random(), 3) for name in COMPONENTS}
        good = components["level_gap"] + components["timezone"] + rng.gauss(0, 0.2) > 1.0
        started = start + timedelta(days=k * 2)
        fields: dict[str, Any] = {
            "program_id": program_id, "started_at": started, "components": components, "cadence_days": 14,
            "ending": "completed" if good else "not_a_fit", "ended_at": started + timedelta(days=84),
        }  # fmt: skip
        pair = f"{program_id}-{k}"
        await context.learning.outcomes.note(
            org, pair, OutcomeChange(participants=(f"e{k}", "m"), fields=fields)
        )
        for session in range(6 if good else 1):
            await context.learning.outcomes.note(
                org, pair, OutcomeChange(counted=(Counted.SESSIONS_HELD, f"{pair}-s{session}"))
            )


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    return problem


async def test_admin_previews_adopts_lists_and_reverts_learned_weights_for_a_program(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    await _past_pairs(matching.context, org, "open")

    preview = await http.post("/programs/open/weights/proposals", headers=admin)
    assert preview.status_code == 201, preview.text
    proposal = preview.json()
    assert proposal["learned_auc"]["value"] >= proposal["current_auc"]["value"] + 0.1
    assert proposal["lift"]["low"] > 0
    assert (
        proposal["learned_auc"]["low"] <= proposal["learned_auc"]["value"] <= proposal["learned_auc"]["high"]
    )
    assert proposal["train_pairs"] + proposal["test_pairs"] == 200
    assert abs(sum(proposal["weights"].values()) - 1) < 1e-3
    assert proposal["weights"]["level_gap"] + proposal["weights"]["timezone"] > 0.6
    program = (await http.get("/programs/open", headers=admin)).json()
    assert (program["weights"], program["weights_version"]) == (DEFAULT_WEIGHTS, 0), (
        "a preview changes nothing"
    )

    adopted = await http.post(
        "/programs/open/weights/adoptions", json={"proposal_id": proposal["proposal_id"]}, headers=admin
    )
    assert adopted.status_code == 201, adopted.text
    version = adopted.json()
    assert (version["version"], version["author"], version["weights"]) == (1, "hr", proposal["weights"])
    assert version["replaced_weights"] == DEFAULT_WEIGHTS
    assert proposal["proposal_id"] in version["source"]
    program = (await http.get("/programs/open", headers=admin)).json()
    assert (program["weights"], program["weights_version"]) == (proposal["weights"], 1)

    # Cohort runs score with the adopted weights (and keep the hard rules: a manager never mentors
    # their report).
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python"], manager_id="mira"),
            candidate(org, "mira", "mentor", skills_offered=["python"]),
            candidate(org, "sam", "mentor", skills_offered=["go"]),
        ]
    )
    run = await http.post("/programs/open/cohort-runs", json={"apply": False}, headers=admin)
    assert run.status_code == 201, run.text
    assert run.json()["weights"] == proposal["weights"]
    assert [(p["mentee_id"], p["mentor_id"]) for p in run.json()["pairs"]] == [("ada", "sam")]

    stale = await http.post(
        "/programs/open/weights/adoptions", json={"proposal_id": proposal["proposal_id"]}, headers=admin
    )
    assert "fit again" in _is_problem(stale, 409)["detail"]
    not_latest = await http.post("/programs/open/weights/reverts", json={"version": 2}, headers=admin)
    assert _is_problem(not_latest, 409)["field"] == "version"

    reverted = await http.post("/programs/open/weights/reverts", json={"version": 1}, headers=admin)
    assert reverted.status_code == 201, reverted.text
    assert (reverted.json()["version"], reverted.json()["source"]) == (2, "revert of version 1")
    program = (await http.get("/programs/open", headers=admin)).json()
    assert program["weights"] == DEFAULT_WEIGHTS
    history = (await http.get("/programs/open/weights/adoptions", headers=admin)).json()
    assert [(v["version"], v["author"]) for v in history] == [(2, "hr"), (1, "hr")]


async def test_employees_may_not_learn_adopt_list_or_revert_weights(matching: Matching) -> None:
    http, org = matching.http, matching.org
    employee = auth(org, "ada")
    base = "/programs/open/weights"
    for response in (
        await http.post(f"{base}/proposals", headers=employee),
        await http.post(f"{base}/adoptions", json={"proposal_id": "x"}, headers=employee),
        await http.get(f"{base}/adoptions", headers=employee),
        await http.post(f"{base}/reverts", json={"version": 1}, headers=employee),
    ):
        _is_problem(response, 403)
    assert await matching.runtime.db["weight_proposals"].count_documents({}) == 0


async def test_refusals_are_problems_naming_what_is_wrong_and_write_nothing(matching: Matching) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    base = "/programs/open/weights"
    no_outcomes = await http.post(f"{base}/proposals", headers=admin)
    assert "no pair of program 'open' has an outcome" in _is_problem(no_outcomes, 409)["detail"]
    await _past_pairs(matching.context, org, "open", count=20)
    too_few = await http.post(f"{base}/proposals", headers=admin)
    assert "not enough outcomes" in _is_problem(too_few, 409)["detail"]
    _is_problem(await http.post("/programs/nope/weights/proposals", headers=admin), 404)
    unknown = await http.post(f"{base}/adoptions", json={"proposal_id": "0123"}, headers=admin)
    assert _is_problem(unknown, 404)["field"] == "proposal_id"
    extra = await http.post(f"{base}/adoptions", json={"proposal_id": "x", "weights": {}}, headers=admin)
    assert [e["field"] for e in _is_problem(extra, 422)["errors"]] == ["weights"]
    zero = await http.post(f"{base}/reverts", json={"version": 0}, headers=admin)
    assert [e["field"] for e in _is_problem(zero, 422)["errors"]] == ["version"]
    never = await http.post(f"{base}/reverts", json={"version": 1}, headers=admin)
    assert _is_problem(never, 422)["field"] == "version"
    assert await matching.runtime.db["weight_proposals"].count_documents({}) == 0
    program = (await http.get("/programs/open", headers=admin)).json()
    assert (program["weights"], program["weights_version"]) == (DEFAULT_WEIGHTS, 0)


async def test_a_proposal_writes_the_start_of_lasting_pairs_from_their_seats_once(
    matching: Matching,
) -> None:
    """On the real store, more pairs than one group: records that sessions' events alone made (or
    none at all) get their start from the pairs' seats, once; records that have it (written at an
    earlier proposal, or by a version that wrote it at PairCreated) are left alone."""
    org, context = matching.org, matching.context
    assert context.learning is not None
    at = datetime(2026, 2, 1, tzinfo=UTC)
    valued = dict.fromkeys(COMPONENTS, 0.25)
    seats = []
    for k in range(620):
        seat = MenteeSeat.register(org, f"mentee-{k}", ProfileFacts(skills_wanted=["python"]), 1, at)
        seat.status = SeatStatus.PAIRED
        seat.pair = Pair(
            pair_id=f"p{k}", mentor_id="mira", program_id="open", score=0.5, components=valued,
            created_at=at + timedelta(minutes=k),
        )  # fmt: skip
        seats.append(seat.to_document())
    await context.seats.collection.insert_many(seats)  # type: ignore[attr-defined]
    for k in range(0, 620, 2):  # sessions' events came for half of them
        change = OutcomeChange(participants=(f"mentee-{k}", "mira"), counted=(Counted.SESSIONS_HELD, f"s{k}"))
        await context.learning.outcomes.note(org, f"p{k}", change)
    started = {"program_id": "open", "started_at": at, "components": dict.fromkeys(COMPONENTS, 0.75)}
    await context.learning.outcomes.note(org, "p0", OutcomeChange(fields=started))  # written before

    assert await outcomes.complete_starts(context, org, "open") == 619
    records = {r.pair_id: r for r in await context.learning.outcomes.of_program(org, "open")}
    assert len(records) == 620
    assert records["p0"].components == started["components"], "a record with its start is left alone"
    assert (records["p7"].started_at, records["p7"].components) == (at + timedelta(minutes=7), valued)
    assert (records["p8"].sessions_held, records["p8"].participant_ids) == (["s8"], ["mentee-8", "mira"])
    assert await outcomes.complete_starts(context, org, "open") == 0
