"""Matching's collections, their indexes, the aggregate stores on them, and the queries the use
cases need (the only module that knows the collection names and the documents' field paths).

- `candidates`: the read model of people, one document per person and role. A mentee's seats
  (`MenteeSeat`, one per focus area) carry the outbox of the pair and request events their
  transitions cause; a mentor's record (`MentorCandidate`) holds their free places.
- `programs`: what admins configured (`Program`).
- `match_runs`: audited cohort runs, each with its MatchRunCompleted; `match_run_items`: their pairs
  and unmatched mentees, in chunks.
- `circles`: formed circles, each with its CircleFormed.
- `inclusion`: consented inclusion attributes from the restricted topic (fairness floors only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mentorship_schemas.events import PersonRole
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.aggregates import AggregateStore
from servicekit.coalesce import Coalescer
from servicekit.erasure import pseudonym, without_person
from servicekit.grouped import Grouped
from servicekit.mongo import in_one_reply
from servicekit.runtime import ServiceRuntime

from matching.domain.formed_circle import FormedCircle
from matching.domain.inclusion import InclusionRecord, inclusion_key
from matching.domain.match_run import MatchRun
from matching.domain.mentor import MentorCandidate, mentor_key
from matching.domain.org_view import OrgView
from matching.domain.program import MAX_MENTORS_PER_MENTEE, Program
from matching.domain.seat import MenteeSeat, SeatStatus, seat_key
from matching.domain.seat_parts import HoldKind
from matching.engine_runner import EngineInThreads, EngineProcess
from matching.org_views import OrgViews
from matching.use_cases.context import Matching, RunItemKind

Document = dict[str, Any]
CANDIDATES = "candidates"
PROGRAMS = "programs"
MATCH_RUNS = "match_runs"
MATCH_RUN_ITEMS = "match_run_items"
CIRCLES = "circles"
INCLUSION = "inclusion"
# Items per chunk of a run's pairs or unmatched mentees (a 50,000-mentee run needs several).
ITEMS_PER_CHUNK = 2000

MENTEE, MENTOR = PersonRole.MENTEE.value, PersonRole.MENTOR.value
# Candidates read by id in one query when an org's view is read again by difference.
_CHANGED_READ = 2000
# The first batch of the read of an org's versions: as many as one reply holds.
_VERSIONS_READ = 100_000
HELD, PAIRED, IN_CIRCLE = (s.value for s in (SeatStatus.HELD, SeatStatus.PAIRED, SeatStatus.IN_CIRCLE))


def matching_of(
    runtime: ServiceRuntime,
    *,
    coalesce_seconds: float,
    resync_seconds: float,
    engine_process: bool,
) -> Matching:
    """The use cases' context on this runtime's database: one store per aggregate type, and the
    engine's runs in a process of their own (`engine_process`) or in threads. Its figures are
    the caller's: `MatchingSettings` holds their defaults, in one place."""
    db = runtime.db
    engine = EngineProcess() if engine_process else EngineInThreads()
    runtime.on_startup(engine.start)
    candidates = runtime.outbox_collection(CANDIDATES)  # seats carry their pair and request events
    runtime.on_startup(lambda: create_indexes(db))
    reads = StoredCandidates(db, resync_seconds=resync_seconds)
    # A seat is offered soon after it is stored, a new mentor's record changed by their first
    # availability: what their creates wrote is kept, so those changes skip the read.
    seats = AggregateStore(candidates, MenteeSeat, runtime, keep_created=True)
    mentors = AggregateStore(candidates, MentorCandidate, runtime, keep_created=True)
    seats.observe(reads.views.saved)  # the org views follow this process's own writes
    mentors.observe(reads.views.saved)
    coalescer = Coalescer(window=coalesce_seconds)
    runtime.on_stop(coalescer.close)  # runs behind the handlers finish before the store closes
    runtime.on_stop(engine.close)  # after the runs that use it
    return Matching(
        seats=seats,
        mentors=mentors,
        programs=AggregateStore(db[PROGRAMS], Program, runtime),
        runs=runtime.aggregates(MATCH_RUNS, MatchRun),  # each run carries its MatchRunCompleted
        circles=runtime.aggregates(CIRCLES, FormedCircle),  # each circle carries its CircleFormed
        inclusion=AggregateStore(db[INCLUSION], InclusionRecord, runtime),
        reads=reads,
        forgetting=StoredForgetting(db, reads.views),
        run_items=StoredRunItems(db[MATCH_RUN_ITEMS]),
        clock=runtime.clock,
        coalescer=coalescer,
        engine=engine,
    )


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    candidates = db[CANDIDATES]
    await candidates.create_index(
        [("org_id", ASCENDING), ("role", ASCENDING), ("status", ASCENDING)], name="org_role_status"
    )
    await candidates.create_index([("org_id", ASCENDING), ("person_id", ASCENDING)], name="org_person")
    await candidates.create_index([("org_id", ASCENDING), ("pair.pair_id", ASCENDING)], name="org_pair")
    await candidates.create_index([("org_id", ASCENDING), ("hold.id", ASCENDING)], name="org_hold")
    await candidates.create_index(
        [("org_id", ASCENDING), ("hold.mentor_id", ASCENDING)], name="org_hold_mentor"
    )
    # A mentor's pairs (places taken, erasure, a mentor who left, the portal's list of pairs).
    await candidates.create_index(
        [("org_id", ASCENDING), ("pair.mentor_id", ASCENDING)], name="org_pair_mentor"
    )
    # The sweeps: requests past their deadline, pairs past their end date.
    await candidates.create_index([("status", ASCENDING), ("hold.expires_at", ASCENDING)], name="hold_expiry")
    await candidates.create_index([("status", ASCENDING), ("pair.ends_at", ASCENDING)], name="pair_end")
    await db[PROGRAMS].create_index([("org_id", ASCENDING)], name="org")
    await db[CIRCLES].create_index([("org_id", ASCENDING), ("member_ids", ASCENDING)], name="org_member")
    await db[INCLUSION].create_index([("org_id", ASCENDING), ("person_id", ASCENDING)], name="org_person")
    await db[MATCH_RUN_ITEMS].create_index(
        [("run_id", ASCENDING), ("kind", ASCENDING), ("chunk", ASCENDING)], name="run_kind_chunk"
    )


class StoredCandidates:
    """`CandidateReads` on the store."""

    def __init__(self, db: AsyncDatabase[Document], *, resync_seconds: float = 30.0) -> None:
        self._candidates = db[CANDIDATES]
        self._grouped = Grouped(self._candidates)  # a consumer batch's lookups by id in one read
        self._programs = db[PROGRAMS]
        self._circles = db[CIRCLES]
        self._inclusion = db[INCLUSION]
        self._runs = db[MATCH_RUNS]
        self.views = OrgViews(self._load_org, resync_seconds, load_changed=self._load_org_changes)

    async def _seats(self, query: Document, limit: int = 0) -> list[MenteeSeat]:
        cursor = self._candidates.find({"role": MENTEE, **query}, limit=limit)
        return [MenteeSeat.model_validate(document) async for document in cursor]

    async def _seat(self, query: Document) -> MenteeSeat | None:
        found = await self._seats(query, limit=1)
        return found[0] if found else None

    async def org(self, org_id: str) -> OrgView:
        return await self.views.org(org_id)

    def refresh(self, org_id: str) -> None:
        self.views.refresh(org_id)

    def refresh_mentors(self, org_id: str) -> None:
        self.views.refresh_mentors(org_id)

    async def _load_org(self, org_id: str) -> tuple[list[MenteeSeat], list[MentorCandidate]]:
        seats: list[MenteeSeat] = []
        mentors: list[MentorCandidate] = []
        async for document in self._candidates.find({"org_id": org_id}):  # validated as they come
            _add_candidate(document, seats, mentors)
        return seats, mentors

    async def _load_org_changes(
        self, org_id: str, known: Mapping[str, int], mentors_only: bool
    ) -> tuple[list[MenteeSeat], list[MentorCandidate], set[str]]:
        present: set[str] = set()
        changed: list[str] = []
        query: Document = {"org_id": org_id, "role": MENTOR} if mentors_only else {"org_id": org_id}
        # Every version in the find's own reply (MongoDB's 16 MB allow 200,000 of them), not 101
        # and then a getMore: a round trip less for each run after a lost race.
        async for document in self._candidates.find(query, {"version": 1}, batch_size=_VERSIONS_READ):
            present.add(document["_id"])
            if known.get(document["_id"]) != document.get("version"):
                changed.append(document["_id"])
        seats: list[MenteeSeat] = []
        mentors: list[MentorCandidate] = []
        for start in range(0, len(changed), _CHANGED_READ):
            chunk = changed[start : start + _CHANGED_READ]
            query = {"_id": {"$in": chunk}, "org_id": org_id}
            async for document in self._candidates.find(query, batch_size=in_one_reply(chunk)):
                _add_candidate(document, seats, mentors)
        read = {seat.id for seat in seats} | {mentor.id for mentor in mentors}
        present -= set(changed) - read  # deleted between the two reads
        return seats, mentors, present

    async def seats_of(self, org_id: str, person_id: str) -> list[MenteeSeat]:
        # By id (a person's seats are numbered): an index lookup on any server, and the lookups of
        # a consumer batch's records (every registration and every PairCreated asks) in one read.
        ids = [seat_key(org_id, person_id, n) for n in range(1, MAX_MENTORS_PER_MENTEE + 1)]
        found = [
            MenteeSeat.model_validate(document)
            for document in await self._grouped.find_by_ids(ids)
            if document.get("role") == MENTEE and document.get("org_id") == org_id
        ]
        return sorted(found, key=lambda seat: seat.seat)

    async def held_seat(self, org_id: str, hold_id: str, kind: HoldKind) -> MenteeSeat | None:
        return await self._seat(
            {"org_id": org_id, "status": HELD, "hold.id": hold_id, "hold.kind": kind.value}
        )

    async def paired_seat(self, org_id: str, pair_id: str) -> MenteeSeat | None:
        return await self._seat({"org_id": org_id, "status": PAIRED, "pair.pair_id": pair_id})

    # A mentor's seats: every MentorAvailable asks, so a consumer batch's mentors share one read.
    async def seats_held_for(self, org_id: str, mentor_id: str) -> list[MenteeSeat]:
        query = {"role": MENTEE, "org_id": org_id, "status": HELD}
        found = await self._grouped.find_where(query, "hold.mentor_id", mentor_id)
        return [MenteeSeat.model_validate(document) for document in found]

    async def seats_paired_with(self, org_id: str, mentor_id: str) -> list[MenteeSeat]:
        query = {"role": MENTEE, "org_id": org_id, "status": PAIRED}
        found = await self._grouped.find_where(query, "pair.mentor_id", mentor_id)
        return [MenteeSeat.model_validate(document) for document in found]

    async def pairs_of(self, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
        either = [{"person_id": person_id}, {"pair.mentor_id": person_id}]
        return await self._seats({"org_id": org_id, "status": PAIRED, "$or": either}, limit)

    async def requests_of(self, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
        either = [{"person_id": person_id}, {"hold.mentor_id": person_id}]
        query = {"org_id": org_id, "status": HELD, "hold.kind": HoldKind.REQUEST.value, "$or": either}
        return await self._seats(query, limit)

    async def proposals(self, org_id: str, program_id: str | None, limit: int) -> list[MenteeSeat]:
        query: Document = {"org_id": org_id, "status": HELD, "hold.kind": HoldKind.PROPOSAL.value}
        if program_id:
            query["hold.program_id"] = program_id
        return await self._seats(query, limit)

    async def due_requests(self, now: datetime, limit: int) -> list[MenteeSeat]:
        query = {"status": HELD, "hold.kind": HoldKind.REQUEST.value, "hold.expires_at": {"$lte": now}}
        return await self._seats(query, limit)

    async def due_pair_ends(self, now: datetime, limit: int) -> list[MenteeSeat]:
        return await self._seats({"status": PAIRED, "pair.ends_at": {"$lte": now}}, limit)

    async def circle_members(self, org_id: str, program_id: str) -> list[MenteeSeat]:
        return await self._seats({"org_id": org_id, "status": IN_CIRCLE, "circle.program_id": program_id})

    async def seats_with_pairs_in(self, org_id: str, program_id: str) -> list[MenteeSeat]:
        either = [{"pair.program_id": program_id}, {"last_pair.program_id": program_id}]
        return await self._seats({"org_id": org_id, "$or": either})

    async def seats_naming(self, org_id: str, person_id: str) -> list[MenteeSeat]:
        paths = (
            "hold.mentor_id",
            "pair.mentor_id",
            "last_pair.mentor_id",
            "previous_mentors",
            "declined_mentors",
            "audit.mentor_id",  # an admin's decision about them (a proposal rejected, a pair by hand)
            "audit.by",  # or theirs, as an admin
        )
        naming = [{path: person_id} for path in (*paths, "circle.member_ids")]
        return await self._seats({"org_id": org_id, "person_id": {"$ne": person_id}, "$or": naming})

    async def orgs_with_waiting_seats(self) -> list[str]:
        query = {"role": MENTEE, "status": SeatStatus.WAITING.value}
        return sorted(str(org) for org in await self._candidates.distinct("org_id", query))

    async def programs_of(self, org_id: str) -> list[Program]:
        return [
            Program.model_validate(document) async for document in self._programs.find({"org_id": org_id})
        ]

    async def circles(
        self, org_id: str, *, program_id: str | None = None, member_id: str | None = None, limit: int = 1000
    ) -> list[FormedCircle]:
        query: Document = {"org_id": org_id}
        if program_id:
            query["program_id"] = program_id
        if member_id:
            query["member_ids"] = member_id
        return [
            FormedCircle.model_validate(document) async for document in self._circles.find(query, limit=limit)
        ]

    async def runs_naming(self, org_id: str, person_id: str) -> list[str]:
        query = {"org_id": org_id, "applied.skipped": person_id}
        return [str(document["_id"]) async for document in self._runs.find(query, {"_id": 1})]

    async def inclusion_of(self, org_id: str, person_ids: list[str]) -> list[InclusionRecord]:
        query = {"org_id": org_id, "person_id": {"$in": person_ids}}
        return [InclusionRecord.model_validate(document) async for document in self._inclusion.find(query)]


def _add_candidate(document: Document, seats: list[MenteeSeat], mentors: list[MentorCandidate]) -> None:
    if document.get("role") == MENTEE:
        seats.append(MenteeSeat.model_validate(document))
    else:
        mentors.append(MentorCandidate.model_validate(document))


class StoredForgetting:
    """`Forgetting` on the store."""

    def __init__(self, db: AsyncDatabase[Document], views: OrgViews) -> None:
        self._candidates = db[CANDIDATES]
        self._inclusion = db[INCLUSION]
        self._views = views

    async def delete_mentor(self, org_id: str, person_id: str) -> None:
        await self._candidates.delete_one({"_id": mentor_key(org_id, person_id)})
        self._views.refresh(org_id)

    async def delete_seat(self, seat_id: str) -> None:
        # A seat with events still to publish stays (anonymous) until a later erasure finds it gone.
        await self._candidates.delete_one({"_id": seat_id, "outbox_pending": {"$ne": True}})
        self._views.forget_document(seat_id)

    async def seal_erased_seats(self, limit: int = 500) -> int:
        """Erased seats whose events are published: one that keeps history (a pair that was, a
        circle) moves to an id derived from its own (the old one is the person's employee id plus
        the role), one that keeps nothing goes. Returns how many were sealed."""
        query = {"status": SeatStatus.ERASED.value, "outbox_pending": {"$ne": True}, "sealed": {"$ne": True}}
        sealed = 0
        async for seat in self._candidates.find(query, limit=limit):
            old_id = seat["_id"]
            history = any(seat.get(part) for part in ("pair", "last_pair", "circle"))
            if history:
                moved = {k: v for k, v in seat.items() if k not in ("outbox", "outbox_pending")}
                moved.update(_id=f"erased:{hashlib.sha256(old_id.encode()).hexdigest()}", sealed=True)
                await self._candidates.replace_one({"_id": moved["_id"]}, moved, upsert=True)
            deleted = await self._candidates.delete_one({"_id": old_id, "outbox_pending": {"$ne": True}})
            sealed += deleted.deleted_count
            self._views.forget_document(old_id)
        return sealed

    async def delete_inclusion(self, org_id: str, person_id: str) -> None:
        await self._inclusion.delete_one({"_id": inclusion_key(org_id, person_id)})


class StoredRunItems:
    """`RunItems` on the store: chunks of `ITEMS_PER_CHUNK`, ids derived from the run and the
    chunk, so a retry after a crash rewrites the same chunks."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def store(self, run: MatchRun, kind: RunItemKind, items: list[Document]) -> None:
        for start in range(0, len(items), ITEMS_PER_CHUNK):
            chunk = start // ITEMS_PER_CHUNK
            document = {
                "_id": f"{run.run_id}:{kind.value}:{chunk:06d}",
                "run_id": run.run_id,
                "org_id": run.org_id,
                "kind": kind.value,
                "chunk": chunk,
                "items": items[start : start + ITEMS_PER_CHUNK],
            }
            await self._collection.replace_one({"_id": document["_id"]}, document, upsert=True)

    async def forget_person(self, org_id: str, person_id: str) -> None:
        """Erasure: the runs keep their pairs and reasons, under a pseudonym for the person."""
        stand_in = pseudonym(org_id, person_id)
        named = {"org_id": org_id, "$or": [{"items.mentee_id": person_id}, {"items.mentor_id": person_id}]}
        async for chunk in self._collection.find(named):
            await self._collection.replace_one(
                {"_id": chunk["_id"]}, without_person(chunk, person_id, stand_in)
            )

    async def page(self, run_id: str, kind: RunItemKind, offset: int, limit: int) -> list[Document]:
        first, last = offset // ITEMS_PER_CHUNK, (offset + max(limit, 1) - 1) // ITEMS_PER_CHUNK
        query: Document = {"run_id": run_id, "kind": kind.value, "chunk": {"$gte": first, "$lte": last}}
        items: list[Document] = []
        async for chunk in self._collection.find(query, sort=[("chunk", ASCENDING)]):
            items.extend(chunk["items"])
        skip = offset - first * ITEMS_PER_CHUNK
        return items[skip : skip + limit]
