"""End to end in the matching service, on real Kafka and store with the shipped model: profile events'
texts are embedded into matching's read model (never into an event), continuous matching pairs a mentee
with the mentor whose experience matches her goal in other words and says so, sessions' events build
the pair's outcome record, its PairEnded (applied by matching's relay as it publishes it) closes it
and brings its start from the seat (what the pair was matched on; nothing writes it while the pair
lasts), and erasure forgets the person's embeddings and outcome records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mentorship_schemas import (
    AgreementSigned,
    GoalAchieved,
    MentorAvailable,
    PairCreated,
    ProfileErased,
    ProfileRegistered,
    SessionCompleted,
)
from mentorship_schemas.events import Cadence, PersonRole

from tests.matching.conftest import Matching, auth
from tests.matching.flow_support import WAIT, processed, publish_as
from tests.waiting import eventually


def _person(org: str, person: str, role: PersonRole, **texts: Any) -> ProfileRegistered:
    """Nothing but texts tells the mentors apart (no levels or languages stated: no reasons about them)."""
    return ProfileRegistered(
        org_id=org, version=1, person_id=person, roles=[role], display_name=person.title(),
        email=f"{person}@example.com", **texts,
    )  # fmt: skip


async def _outcome(matching: Matching, pair_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await matching.runtime.db["pair_outcomes"].find_one(
        {"_id": f"{matching.org}:{pair_id}"}
    )
    return found


async def test_semantic_match_is_explained_and_its_outcome_learned_then_forgotten_on_erasure(
    matching: Matching,
) -> None:
    org = matching.org
    analytics, bakery = "Managed analytics groups for six years", "Ran the office bakery and catering"
    mentors = [
        _person(org, "mira", PersonRole.MENTOR, title=analytics, skills_offered=["sql"]),
        _person(org, "sam", PersonRole.MENTOR, title=bakery, skills_offered=["sql"]),
    ]
    available = [
        MentorAvailable(org_id=org, version=2, person_id=m.person_id, capacity=1, active_mentees=0)
        for m in mentors
    ]
    for event_id in await publish_as(matching, "profiles", *mentors, *available):
        await processed(matching, event_id)
    embeddings = matching.runtime.db["embeddings"]
    assert await embeddings.count_documents({"org_id": org}) == 2

    ada = _person(
        org, "ada", PersonRole.MENTEE, goals="Lead a data team.", challenges="Presenting to leadership"
    )
    (registered,) = await publish_as(matching, "profiles", ada)
    await processed(matching, registered)
    record = await embeddings.find_one({"_id": f"{org}:ada"})
    assert record is not None
    assert [p["text"] for p in record["sides"]["mentee"]["passages"]] == [
        "Lead a data team",
        "Presenting to leadership",
    ]

    created = await matching.events(PairCreated, until=lambda found: len(found) == 1)
    (pair,) = created
    assert pair["mentor_id"] == "mira"
    assert (
        "your goal 'Lead a data team' matches their experience 'Managed analytics groups for six years'"
        in (pair["reasons"])
    )
    assert "Lead a data team" not in str({k: v for k, v in pair.items() if k != "reasons"})
    pair_id = pair["pair_id"]
    seat = await matching.runtime.db["candidates"].find_one({"pair.pair_id": pair_id})
    assert seat is not None
    start = seat["pair"]  # what the pair was matched on, as the run valued it, kept on its seat
    assert start["components"]["goals"] > 0.2

    async def published_and_applied() -> bool:
        found = await matching.runtime.db["candidates"].find_one({"_id": seat["_id"]})
        return found is not None and not found.get("outbox_pending")

    # The relay published the PairCreated and is done with it: nothing wrote the pair's record.
    await eventually(published_and_applied, timeout=WAIT, what="the seat's outbox emptied")
    assert await _outcome(matching, pair_id) is None

    people = ["ada", "mira"]
    at = datetime(2026, 3, 9, 10, tzinfo=UTC)
    sessions = [
        AgreementSigned(
            org_id=org, version=1, pair_id=pair_id, participant_ids=people, cadence=Cadence.WEEKLY
        ),
        SessionCompleted(
            org_id=org, version=1, session_id="s1", pair_id=pair_id, participant_ids=people, starts_at=at,
            held_at=at,
        ),
        GoalAchieved(
            org_id=org, version=1, goal_id="g1", pair_id=pair_id, participant_ids=people, title="Hire"
        ),
    ]  # fmt: skip
    for event_id in await publish_as(matching, "sessions", *sessions):
        await processed(matching, event_id)
    outcome = await _outcome(matching, pair_id)
    assert outcome is not None
    assert sorted(outcome["participant_ids"]) == ["ada", "mira"]
    assert "started_at" not in outcome, "the pair lasts: its start is on its seat"
    ended = await matching.http.post(
        f"/pairs/{pair_id}/end", json={"reason": "completed"}, headers=auth(org, "hr", "program_admin")
    )
    assert ended.status_code == 200, ended.text

    async def closed() -> dict[str, Any] | None:
        found = await _outcome(matching, pair_id)
        return found if found and found.get("ending") == "completed" else None

    outcome = await eventually(closed, timeout=WAIT, what="the pair's PairEnded in its outcome record")
    assert (outcome["cadence_days"], outcome["sessions_held"], outcome["goals_achieved"]) == (
        7,
        ["s1"],
        ["g1"],
    )
    assert (outcome["program_id"], outcome["components"]) == ("open", start["components"])
    assert outcome["started_at"] == start["created_at"]

    erased = ProfileErased(
        org_id=org, version=3, person_id="ada", erased_at=datetime(2026, 3, 20, tzinfo=UTC)
    )
    (erasure,) = await publish_as(matching, "profiles", erased)
    await processed(matching, erasure)
    assert await embeddings.find_one({"_id": f"{org}:ada"}) is None
    assert await _outcome(matching, pair_id) is None
    assert await embeddings.find_one({"_id": f"{org}:mira"}) is not None
