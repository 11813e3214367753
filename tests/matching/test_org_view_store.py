"""On the store: an org's view read again after a conflict takes only the candidates whose version
changed (another replica's writes), keeps its copies of the others and drops those deleted, in a
round trip for the versions and one for what changed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from matching.domain.candidate import ProfileFacts
from matching.domain.mentor import MentorCandidate
from matching.domain.seat import MenteeSeat
from matching.store import CANDIDATES, StoredCandidates
from pymongo import AsyncMongoClient

from tests.conftest import Infra
from tests.servicekit.test_grouped import _Commands

AT = datetime(2026, 3, 2, tzinfo=UTC)


def _seat(person: str) -> dict[str, Any]:
    return MenteeSeat.register("acme", person, ProfileFacts(skills_wanted=["python"]), 1, AT).to_document()


async def test_a_view_read_again_takes_the_changed_candidates_and_keeps_the_others(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = mongo[f"test_org_view_{uuid.uuid4().hex[:8]}"]
    candidates = db[CANDIDATES]
    mira = MentorCandidate.new("acme", "mira")
    await candidates.insert_many(
        [_seat("ada"), _seat("bob"), mira.to_document(), {**_seat("eve"), "org_id": "other"}]
    )
    reads = StoredCandidates(db)
    before = await reads.org("acme")
    ada, bob = (f"acme:{p}:mentee" for p in ("ada", "bob"))
    assert set(before.seats) == {ada, bob}

    # Another replica's writes: bob's seat changed, ada's deleted, cy registered.
    await candidates.update_one({"_id": bob}, {"$inc": {"version": 1}, "$set": {"focus": "leading"}})
    await candidates.delete_one({"_id": ada})
    await candidates.insert_one(_seat("cy"))
    unchanged = await reads.org("acme")
    assert set(unchanged.seats) == {ada, bob}  # nothing read until a conflict or the resync

    reads.refresh("acme")
    after = await reads.org("acme")

    assert set(after.seats) == {bob, "acme:cy:mentee"}
    assert after.seats[bob].version == before.seats[bob].version + 1
    assert after.seats[bob].focus == "leading"
    assert after.mentors["mira"] is before.mentors["mira"]  # the same version: not read again


async def test_the_mentors_read_again_come_in_one_find_for_their_versions_and_one_for_the_changed(
    infra: Infra, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    """A run after a lost race waits for these reads: every version comes in the find's own reply
    (a cursor's first holds 101 documents unless asked for more, then a getMore brings the rest)."""
    db = mongo[f"test_org_view_{uuid.uuid4().hex[:8]}"]
    mentors = [MentorCandidate.new("acme", f"mentor-{n}") for n in range(300)]
    await db[CANDIDATES].insert_many([mentor.to_document() for mentor in mentors])
    commands = _Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, event_listeners=[commands])
    try:
        reads = StoredCandidates(client[db.name])
        before = await reads.org("acme")
        changed = [mentor.id for mentor in mentors[:150]]  # another replica's writes
        await db[CANDIDATES].update_many({"_id": {"$in": changed}}, {"$inc": {"version": 1}})
        commands.names.clear()

        reads.refresh_mentors("acme")
        after = await reads.org("acme")

        assert commands.names == ["find", "find"]  # the versions, then the 150 changed
        assert after.mentors["mentor-0"].version == before.mentors["mentor-0"].version + 1
        assert after.mentors["mentor-299"] is before.mentors["mentor-299"]
    finally:
        await client.close()
        await mongo.drop_database(db.name)
