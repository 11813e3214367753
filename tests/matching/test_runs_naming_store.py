"""On the store: the audited runs that name a person as skipped, the seats that name a person
(which an erasure pseudonymises or clears), and the seats whose pair or last pair is of a program."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from matching.domain.candidate import ProfileFacts
from matching.domain.seat import MenteeSeat
from matching.domain.seat_parts import AuditEntry, EndedPair, Pair
from matching.store import CANDIDATES, MATCH_RUNS, StoredCandidates
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


async def test_the_seats_naming_a_person_include_those_whose_audit_alone_names_them(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = mongo[f"test_seats_naming_{uuid.uuid4().hex[:8]}"]
    at = datetime(2026, 3, 2, tzinfo=UTC)
    seats = []
    for person, audit in [
        ("ada", (AuditEntry(at=at, by="adm", action="proposal_rejected", mentor_id="mira"),)),
        ("bob", (AuditEntry(at=at, by="mira", action="paired_by_hand", mentor_id="sam"),)),
        ("cy", ()),
    ]:
        seat = MenteeSeat.register("acme", person, ProfileFacts(skills_wanted=["python"]), 1, at)
        seat.audit = audit
        seats.append(seat.to_document())
    await db[CANDIDATES].insert_many(seats)
    reads = StoredCandidates(db)
    assert sorted(s.person_id for s in await reads.seats_naming("acme", "mira")) == ["ada", "bob"]
    assert [s.person_id for s in await reads.seats_naming("acme", "sam")] == ["bob"]
    assert await reads.seats_naming("acme", "cy") == []


async def test_the_seats_with_a_pair_in_a_program_include_those_whose_last_pair_was(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    """What proposing weights reads to complete outcome records (`outcomes.complete_starts`)."""
    db = mongo[f"test_seats_pairs_{uuid.uuid4().hex[:8]}"]
    at = datetime(2026, 3, 2, tzinfo=UTC)

    def seat(person: str, org: str = "acme") -> MenteeSeat:
        return MenteeSeat.register(org, person, ProfileFacts(skills_wanted=["python"]), 1, at)

    paired, ended, elsewhere, waiting, other_org = (
        seat("ada"),
        seat("bob"),
        seat("cy"),
        seat("dee"),
        seat("eve", "x"),
    )
    paired.pair = Pair(pair_id="p1", mentor_id="mira", program_id="spring", score=0.5, created_at=at)
    ended.last_pair = EndedPair(
        pair_id="p2", mentor_id="sam", program_id="spring", score=0.5, created_at=at, ended_at=at,
        end_reason="completed",
    )  # fmt: skip
    elsewhere.pair = Pair(pair_id="p3", mentor_id="mira", program_id="autumn", score=0.5, created_at=at)
    other_org.pair = Pair(pair_id="p4", mentor_id="mira", program_id="spring", score=0.5, created_at=at)
    await db[CANDIDATES].insert_many(
        [s.to_document() for s in (paired, ended, elsewhere, waiting, other_org)]
    )
    reads = StoredCandidates(db)
    assert sorted(s.person_id for s in await reads.seats_with_pairs_in("acme", "spring")) == ["ada", "bob"]
    assert [s.person_id for s in await reads.seats_with_pairs_in("acme", "autumn")] == ["cy"]
    assert await reads.seats_with_pairs_in("acme", "winter") == []
