"""On the store: the audited runs that name a person as skipped, which an erasure pseudonymises."""

from __future__ import annotations

import uuid
from typing import Any

from matching.store import MATCH_RUNS, StoredCandidates
from pymongo import AsyncMongoClient


async def test_the_runs_that_skipped_a_person_are_found_by_their_id(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = mongo[f"test_runs_naming_{uuid.uuid4().hex[:8]}"]
    await db[MATCH_RUNS].insert_many(
        [
            {"_id": "r1", "org_id": "acme", "applied": {"as": "final", "skipped": ["ada", "bob"]}},
            {"_id": "r2", "org_id": "acme", "applied": {"as": "final", "skipped": ["bob"]}},
            {"_id": "r3", "org_id": "acme", "applied": None},
            {"_id": "r4", "org_id": "other", "applied": {"as": "final", "skipped": ["ada"]}},
        ]
    )
    reads = StoredCandidates(db)
    assert await reads.runs_naming("acme", "ada") == ["r1"]
    assert sorted(await reads.runs_naming("acme", "bob")) == ["r1", "r2"]
    assert await reads.runs_naming("acme", "cy") == []
