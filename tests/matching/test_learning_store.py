"""The learning collections on the real MongoDB-protocol store: embedded profiles (newer versions win,
an org's view sees a re-embedding, erasure deletes the record and its passages' cached embeddings),
outcome records (events in any order and repeated give one record) and weight proposals (round trip)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from matching.domain.outcome_record import Counted, OutcomeChange
from matching.domain.outcomes import PairEnding, PairOutcome
from matching.domain.programs import COMPONENTS, DEFAULT_WEIGHTS
from matching.domain.semantic import Passage, PassageKind, SemanticProfile
from matching.domain.semantic_goals import Side
from matching.domain.weight_learning import propose_weights
from matching.embeddings import MODEL_ID, text_key
from matching.store_learning import StoredEmbeddedProfiles, StoredPairOutcomes, StoredWeightProposals
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.grouped import grouping

from tests.conftest import Infra, drop_database

ORG = "org-store"


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    name = f"matching-learning-{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        yield client[name]
    finally:
        await client.close()
        await drop_database(infra, name)


def _profile(text: str, seed: int) -> SemanticProfile:
    vector = np.random.default_rng(seed).normal(size=(1, 384)).astype(np.float32)
    return SemanticProfile("ada", (Passage(PassageKind.GOAL, text),), vector / np.linalg.norm(vector))


async def test_embedded_profiles_keep_the_newest_version_and_an_orgs_view_sees_a_re_embedding(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    profiles = StoredEmbeddedProfiles(db["embeddings"], db["passage_embeddings"])
    first, second = _profile("lead a data team", 1), _profile("write a book", 2)
    assert await profiles.save(ORG, "ada", 1, "d1", {Side.MENTEE: first})
    seen = await profiles.of_people(ORG)
    assert seen is not None
    assert np.array_equal(seen.mentees["ada"].vectors, first.vectors)
    assert seen.mentors == {}
    assert await profiles.save(ORG, "ada", 3, "d3", {Side.MENTEE: second})
    assert not await profiles.save(ORG, "ada", 2, "d2", {Side.MENTEE: first}), "a stale version is refused"
    assert not await profiles.save(ORG, "ada", 3, "d3", {Side.MENTEE: first}), "a repeat changes nothing"
    assert await profiles.stamp_of(ORG, "ada") == (3, "d3")
    seen = await profiles.of_people(ORG)
    assert seen is not None
    assert seen.mentees["ada"].passages == second.passages
    assert np.array_equal(seen.mentees["ada"].vectors, second.vectors)
    assert await profiles.of_people(ORG, ["someone-else"]) is None
    assert await profiles.of_people("other-org") is None

    await db["passage_embeddings"].insert_one({"_id": text_key(MODEL_ID, "write a book"), "vector": b""})
    await db["passage_embeddings"].insert_one({"_id": text_key(MODEL_ID, "kept"), "vector": b""})
    await profiles.forget(ORG, "ada")
    assert await profiles.stamp_of(ORG, "ada") is None
    assert await profiles.of_people(ORG) is None
    assert [d["_id"] async for d in db["passage_embeddings"].find()] == [text_key(MODEL_ID, "kept")]


async def test_a_consumer_batchs_saves_go_together_and_each_learns_whether_it_was_kept(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    profiles = StoredEmbeddedProfiles(db["embeddings"], db["passage_embeddings"])
    assert await profiles.save(ORG, "ada", 3, "d3", {Side.MENTEE: _profile("lead a data team", 1)})
    with grouping():  # as in a consumer's batch: one bulk write for all of them
        kept = await asyncio.gather(
            profiles.save(ORG, "ada", 2, "d2", {Side.MENTEE: _profile("stale", 2)}),
            profiles.save(ORG, "ada", 3, "d3", {Side.MENTEE: _profile("repeat", 3)}),
            profiles.save(ORG, "bo", 1, "d1", {Side.MENTOR: _profile("managed analytics teams", 4)}),
            profiles.save(ORG, "cy", 1, "d1", {Side.MENTEE: _profile("write a book", 5)}),
        )
    assert kept == [False, False, True, True]
    assert await profiles.stamp_of(ORG, "ada") == (3, "d3")
    seen = await profiles.of_people(ORG, ["ada", "bo", "cy"])
    assert seen is not None
    assert (set(seen.mentees), set(seen.mentors)) == ({"ada", "cy"}, {"bo"})
    assert seen.mentees["ada"].passages == _profile("lead a data team", 1).passages


async def test_an_orgs_embedded_profiles_follow_this_process_at_once_and_other_replicas_at_the_resync(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    now = [0.0]
    ours = StoredEmbeddedProfiles(
        db["embeddings"], db["passage_embeddings"], resync_seconds=30, clock=lambda: now[0]
    )
    replica = StoredEmbeddedProfiles(db["embeddings"], db["passage_embeddings"])
    assert await ours.save(ORG, "ada", 1, "d1", {Side.MENTEE: _profile("lead a data team", 1)})
    assert await ours.of_people(ORG) is not None  # the org is read once and kept from here on
    assert await ours.save(ORG, "bo", 1, "d1", {Side.MENTOR: _profile("managed analytics teams", 2)})
    assert await replica.save(ORG, "cy", 1, "d1", {Side.MENTEE: _profile("write a book", 3)})
    await ours.forget(ORG, "ada")

    seen = await ours.of_people(ORG)
    assert seen is not None
    assert set(seen.mentees) == set(), "its own erasure is seen at once; the replica's save not yet"
    assert set(seen.mentors) == {"bo"}, "its own save is seen without reading the org again"
    now[0] = 31.0
    seen = await ours.of_people(ORG)
    assert seen is not None
    assert (set(seen.mentees), set(seen.mentors)) == ({"cy"}, {"bo"}), "after the resync, the store's set"


async def test_an_orgs_kept_profiles_follow_a_change_of_sides_and_a_runs_copy_stays_as_it_was(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    profiles = StoredEmbeddedProfiles(db["embeddings"], db["passage_embeddings"])
    assert await profiles.save(ORG, "bo", 1, "d1", {Side.MENTOR: _profile("managed analytics teams", 1)})
    before = await profiles.of_people(ORG)  # the org is read and kept from here on
    assert before is not None
    assert await profiles.save(ORG, "bo", 2, "d2", {Side.MENTEE: _profile("grow as a manager", 2)})
    after = await profiles.of_people(ORG)
    assert after is not None
    assert (set(after.mentees), set(after.mentors)) == ({"bo"}, set()), "the side they left is gone"
    assert after.mentees["bo"].passages == _profile("grow as a manager", 2).passages
    assert (set(before.mentees), set(before.mentors)) == (set(), {"bo"}), "a run's copy stays as it was"


async def test_an_outcome_record_is_the_same_whatever_the_order_and_repeats_of_its_events(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    started = datetime(2025, 1, 6, tzinfo=UTC)
    changes = [
        OutcomeChange(
            participants=("ada", "mira"),
            fields={
                "program_id": "open",
                "started_at": started,
                "components": dict.fromkeys(COMPONENTS, 0.5),
            },
        ),
        OutcomeChange(participants=("ada", "mira"), fields={"cadence_days": 7}),
        OutcomeChange(counted=(Counted.SESSIONS_HELD, "s1")),
        OutcomeChange(counted=(Counted.SESSIONS_MISSED, "s2"), highest={"max_missed_in_a_row": 2}),
        OutcomeChange(counted=(Counted.SESSIONS_MISSED, "s3"), highest={"max_missed_in_a_row": 1}),
        OutcomeChange(counted=(Counted.GOALS_ACHIEVED, "g1")),
        OutcomeChange(
            participants=("ada", "mira"),
            fields={"ending": PairEnding.COMPLETED, "ended_at": started + timedelta(days=28)},
        ),
    ]
    records = []
    for order in (changes, changes[::-1], changes + changes):
        outcomes = StoredPairOutcomes(db[f"pair_outcomes_{len(records)}"])
        for change in order:
            await outcomes.note(ORG, "p1", change)
        (record,) = await outcomes.of_program(ORG, "open")
        records.append(record)
    first = records[0]
    assert all(
        (r.sessions_held, sorted(r.sessions_missed), r.max_missed_in_a_row, r.goals_achieved, r.cadence_days)
        == (["s1"], ["s2", "s3"], 2, ["g1"], 7)
        for r in records
    )
    assert first.outcome() == PairOutcome(
        pair_id="p1", org_id=ORG, program_id="open", started_at=started,
        components=dict.fromkeys(COMPONENTS, 0.5), cadence_days=7, ended_at=started + timedelta(days=28),
        ending=PairEnding.COMPLETED, sessions_held=1, sessions_missed=2, goals_set=1, goals_achieved=1,
    )  # fmt: skip
    outcomes = StoredPairOutcomes(db["pair_outcomes_0"])
    await outcomes.forget_person(ORG, "mira")
    assert await outcomes.of_program(ORG, "open") == []


async def test_only_records_with_their_whole_start_count_as_started(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    """What `complete_starts` asks before writing a start from a seat (in reads of many ids)."""
    outcomes = StoredPairOutcomes(db["pair_outcomes"])
    at = datetime(2026, 1, 5, tzinfo=UTC)
    whole = {"program_id": "open", "started_at": at, "components": dict.fromkeys(COMPONENTS, 0.5)}
    await outcomes.note(ORG, "whole", OutcomeChange(participants=("ada", "mira"), fields=whole))
    await outcomes.note(ORG, "counted", OutcomeChange(counted=(Counted.SESSIONS_HELD, "s1")))
    await outcomes.note(ORG, "unvalued", OutcomeChange(fields={**whole, "components": None}))
    await outcomes.note("other-org", "elsewhere", OutcomeChange(fields=whole))
    asked = ["whole", "counted", "unvalued", "elsewhere", "absent"] + [f"p{k}" for k in range(2_500)]
    assert await outcomes.started(ORG, asked) == {"whole"}
    assert await outcomes.started(ORG, []) == set()
    # One pair each, as the effects of a relay's pass ask (grouped): the same answers.
    with grouping():
        one_each = await asyncio.gather(*(outcomes.started(ORG, [pair_id]) for pair_id in asked[:6]))
    assert one_each == [{"whole"}, set(), set(), set(), set(), set()]


async def test_a_weight_proposal_round_trips_with_its_id(db: AsyncDatabase[dict[str, Any]]) -> None:
    rng = np.random.default_rng(5)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    outcomes = []
    for k in range(120):
        components = {name: float(rng.random()) for name in COMPONENTS}
        good = components["timezone"] > 0.5
        outcomes.append(
            PairOutcome(
                pair_id=f"p{k}", org_id=ORG, program_id="open", started_at=start + timedelta(days=k),
                components=components, ended_at=start + timedelta(days=k + 60),
                ending=PairEnding.COMPLETED if good else PairEnding.NOT_A_FIT, sessions_held=4,
            )
        )  # fmt: skip
    proposal = propose_weights(outcomes, DEFAULT_WEIGHTS, datetime(2026, 1, 1, 12, 30, 5, 123000, tzinfo=UTC))
    proposals = StoredWeightProposals(db["weight_proposals"])
    await proposals.save(proposal)
    loaded = await proposals.get(ORG, "open", proposal.proposal_id)
    assert loaded == proposal
    assert loaded is not None
    assert loaded.proposal_id == proposal.proposal_id
    assert await proposals.get(ORG, "other", proposal.proposal_id) is None
