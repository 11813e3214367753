"""Matching's collections for the semantic goals component and learning from outcomes, and how the app's
use-case context gets them (store.py holds the rest).

- `embeddings`: one record per person (`org:person`), their embedded texts for each side (mentee,
  mentor), stamped with the profile version and a digest of the texts; never in an event.
- `passage_embeddings`: the embedding of each distinct passage text (`text_key`), a cache.
- `pair_outcomes`: one record per pair (`org:pair`), fed by events (domain/outcome_record.py).
- `weight_proposals`: the learned weights an admin previewed, until one is adopted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from servicekit.erasure import person_mark, pseudonym
from servicekit.grouped import Grouped
from servicekit.runtime import ServiceRuntime

from matching.domain.org_view import OrgView
from matching.domain.outcome_record import OutcomeChange, PairOutcomeRecord
from matching.domain.semantic import SemanticProfile
from matching.domain.semantic_goals import SemanticGoals, Side
from matching.domain.weight_learning import Interval, WeightProposal
from matching.embeddings import (
    DIMENSIONS,
    MODEL_ID,
    MiniLmEncoder,
    MongoEmbeddingCache,
    ProfileEmbedder,
    semantic_document,
    semantic_profile,
    text_key,
)
from matching.use_cases.ai_ports import EmbeddedProfiles, LearningParts, SemanticParts
from matching.use_cases.context import CandidateReads, Matching

Document = dict[str, Any]
EMBEDDINGS = "embeddings"
PASSAGE_EMBEDDINGS = "passage_embeddings"
PAIR_OUTCOMES = "pair_outcomes"
ERASED_PEOPLE = "erased_people"  # marks (keyed hashes) of the erased, for events that arrive late
WEIGHT_PROPOSALS = "weight_proposals"
# One encoder per process: the model loads as the service starts (or on first use), in a worker thread.
_ENCODER = MiniLmEncoder()


def with_learning(matching: Matching, runtime: ServiceRuntime, *, semantic: bool = True) -> Matching:
    """The context with its embeddings (when `semantic`), outcome records and weight proposals."""
    db = runtime.db
    runtime.on_startup(lambda: create_learning_indexes(db))
    learning = LearningParts(
        StoredPairOutcomes(db[PAIR_OUTCOMES]), StoredWeightProposals(db[WEIGHT_PROPOSALS])
    )
    if not semantic:
        return dataclasses.replace(matching, learning=learning)
    # The model loads as the service starts, in a worker thread and not waited for: the service is
    # ready at once, and a profile that comes first waits for the load it would have done itself.
    runtime.on_startup(_load_model_behind)
    cache = MongoEmbeddingCache(db[PASSAGE_EMBEDDINGS])
    profiles = StoredEmbeddedProfiles(db[EMBEDDINGS], db[PASSAGE_EMBEDDINGS], passage_cache=cache)
    embedder = ProfileEmbedder(_ENCODER, cache)
    return dataclasses.replace(
        matching,
        reads=SemanticReads(matching.reads, profiles),
        semantic=SemanticParts(embedder, _ENCODER.model_id, profiles),
        learning=learning,
    )


async def _load_model_behind() -> None:
    asyncio.get_running_loop().run_in_executor(None, _ENCODER.preload)


async def create_learning_indexes(db: AsyncDatabase[Document]) -> None:
    await db[EMBEDDINGS].create_index([("org_id", ASCENDING), ("person_id", ASCENDING)], name="org_person")
    await db[PAIR_OUTCOMES].create_index(
        [("org_id", ASCENDING), ("program_id", ASCENDING)], name="org_program"
    )
    await db[PAIR_OUTCOMES].create_index(
        [("org_id", ASCENDING), ("participant_ids", ASCENDING)], name="org_participant"
    )


class SemanticReads:
    """`CandidateReads` whose view of an org carries the org's embedded profiles, so suggestions,
    continuous matching and cohort runs score the goals component on them."""

    def __init__(self, reads: CandidateReads, profiles: EmbeddedProfiles) -> None:
        self._reads = reads
        self._profiles = profiles

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reads, name)

    async def org(self, org_id: str) -> OrgView:
        view = await self._reads.org(org_id)
        view.semantic = await self._profiles.of_people(org_id)
        return view


def _sides(person_id: str, document: Document) -> dict[Side, SemanticProfile]:
    return {Side(side): semantic_profile(person_id, part) for side, part in document.get("sides", {}).items()}


class StoredEmbeddedProfiles:
    """`EmbeddedProfiles` on the store. An org's whole set (what every engine run scores goals with)
    is kept in memory like the org views (`org_views.py`): read once, then kept current by this
    process's own saves and erasures, and read afresh every `resync_seconds` (other replicas' saves
    arrive then; meanwhile their people score on TF-IDF or an older embedding, never wrongly
    matched). About 1.6 KB per passage stay in memory, for the `orgs_kept` orgs read last."""

    def __init__(
        self,
        records: AsyncCollection[Document],
        passages: AsyncCollection[Document],
        *,
        orgs_kept: int = 16,
        passage_cache: MongoEmbeddingCache | None = None,
        resync_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records = records
        self._grouped_records = Grouped(records)  # a consumer batch's lookups in one read
        self._passages = passages
        self._orgs_kept = orgs_kept
        self._passage_cache = passage_cache
        self._resync_seconds = resync_seconds
        self._clock = clock
        self._orgs: OrderedDict[str, _OrgVectors] = OrderedDict()
        # Saves and erasures that happened while an org was being read, applied over what it read.
        self._during_load: dict[str, list[_Vectors]] = {}

    async def stamp_of(self, org_id: str, person_id: str) -> tuple[int, str] | None:
        found = await self._grouped_records.find_by_id(f"{org_id}:{person_id}")
        if found is None or found.get("model_id") != MODEL_ID:
            return None
        return int(found["profile_version"]), str(found["digest"])

    async def save(
        self,
        org_id: str,
        person_id: str,
        profile_version: int,
        digest: str,
        sides: Mapping[Side, SemanticProfile],
    ) -> bool:
        record = {
            "org_id": org_id,
            "person_id": person_id,
            "profile_version": profile_version,
            "digest": digest,
            "model_id": MODEL_ID,
            "sides": {side.value: semantic_document(profile) for side, profile in sides.items()},
        }
        older = {
            "$or": [
                {"profile_version": {"$lt": profile_version}},
                {"profile_version": profile_version, "digest": {"$ne": digest}},
            ]
        }
        try:  # grouped with the consumer batch's other saves
            await self._grouped_records.upsert({"_id": f"{org_id}:{person_id}", **older}, {"$set": record})
        except DuplicateKeyError:  # a record of this or a newer version is there
            return False
        self._follow(org_id, _Vectors(person_id, profile_version, dict(sides)))
        return True

    async def of_people(self, org_id: str, person_ids: Iterable[str] | None = None) -> SemanticGoals | None:
        if person_ids is not None:  # by id: an index lookup on any server, grouped in a batch
            found = await self._grouped_records.find_by_ids([f"{org_id}:{p}" for p in person_ids])
            people = [_vectors(document) for document in found if document.get("model_id") == MODEL_ID]
            return _goals(people) if people else None
        cached = self._orgs.get(org_id)
        if cached is None or self._clock() - cached.loaded_at > self._resync_seconds:
            cached = await self._load(org_id)
        self._orgs.move_to_end(org_id)
        if not cached.people:
            return None
        # Copies: the engine reads them in a worker thread while saves go on changing the cached ones.
        return SemanticGoals(dict(cached.mentees), dict(cached.mentors), DIMENSIONS)

    async def forget(self, org_id: str, person_id: str) -> None:
        key = f"{org_id}:{person_id}"
        record = await self._records.find_one_and_delete({"_id": key})
        self._follow(org_id, _Vectors(person_id, _FORGOTTEN, {}))
        if record is None:
            return
        texts = {p.text for sides in _sides(person_id, record).values() for p in sides.passages}
        model = str(record.get("model_id", MODEL_ID))
        keys = [text_key(model, text) for text in texts]
        await self._passages.delete_many({"_id": {"$in": keys}})
        if self._passage_cache is not None:
            self._passage_cache.forget(keys)

    async def _load(self, org_id: str) -> _OrgVectors:
        self._during_load.setdefault(org_id, [])
        started = self._clock()
        try:
            query = {"org_id": org_id, "model_id": MODEL_ID}
            loaded = _OrgVectors(started, {})
            async for document in self._records.find(query):
                loaded.apply(_vectors(document))
        finally:
            during = self._during_load.pop(org_id, [])
        for vectors in during:
            loaded.apply(vectors)
        self._orgs[org_id] = loaded
        while len(self._orgs) > self._orgs_kept:
            self._orgs.popitem(last=False)
        return loaded

    def _follow(self, org_id: str, vectors: _Vectors) -> None:
        """This process saved (or erased) someone's vectors: the org's cached set follows."""
        if (during := self._during_load.get(org_id)) is not None:
            during.append(vectors)
        if (cached := self._orgs.get(org_id)) is not None:
            cached.apply(vectors)


_FORGOTTEN = 2**62  # the version of an erasure: no later save of the person counts
# Pair ids per read of which outcome records have their start (a program's pairs may be thousands).
_STARTED_READ = 1000
# What a pair's record holds once its start is written (`outcomes.write_start`).
_START = ("program_id", "started_at", "components")


@dataclass(frozen=True)
class _Vectors:
    person_id: str
    profile_version: int
    sides: dict[Side, SemanticProfile]


@dataclass
class _OrgVectors:
    loaded_at: float
    people: dict[str, _Vectors]
    # Each side's profiles by person, kept with `people`: what every run scores goals with is two
    # copies of these (building them from `people` went over the whole org in Python each run).
    mentees: dict[str, SemanticProfile] = field(default_factory=dict)
    mentors: dict[str, SemanticProfile] = field(default_factory=dict)

    def apply(self, vectors: _Vectors) -> None:
        person_id = vectors.person_id
        known = self.people.get(person_id)
        if known is not None and known.profile_version > vectors.profile_version:
            return
        forgotten = vectors.profile_version == _FORGOTTEN
        if forgotten:
            self.people.pop(person_id, None)
        else:
            self.people[person_id] = vectors
        for side, profiles in ((Side.MENTEE, self.mentees), (Side.MENTOR, self.mentors)):
            profile = None if forgotten else vectors.sides.get(side)
            if profile is None:
                profiles.pop(person_id, None)
            else:
                profiles[person_id] = profile


def _vectors(document: Document) -> _Vectors:
    person_id = str(document["person_id"])
    return _Vectors(person_id, int(document["profile_version"]), _sides(person_id, document))


def _goals(people: list[_Vectors]) -> SemanticGoals:
    return SemanticGoals(
        mentees={v.person_id: v.sides[Side.MENTEE] for v in people if Side.MENTEE in v.sides},
        mentors={v.person_id: v.sides[Side.MENTOR] for v in people if Side.MENTOR in v.sides},
        dimensions=DIMENSIONS,
    )


class StoredPairOutcomes:
    """`PairOutcomes` on the store: one upsert per event, idempotent and commutative. An erased
    person leaves a mark (a keyed hash, no id): an event about their pair that arrives after the
    erasure is still counted, under a pseudonym."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self._grouped = Grouped(collection)
        self._erased = collection.database[ERASED_PEOPLE]
        self._grouped_erased = Grouped(self._erased)  # a consumer batch's checks in one read

    async def _known_ids(self, org_id: str, person_ids: Iterable[str]) -> list[str]:
        marks = {person_mark(org_id, person): person for person in person_ids}
        gone = {d["_id"] for d in await self._grouped_erased.find_by_ids(list(marks))}
        return [pseudonym(org_id, person) if mark in gone else person for mark, person in marks.items()]

    async def note(self, org_id: str, pair_id: str, change: OutcomeChange) -> None:
        update: Document = {"$setOnInsert": {"org_id": org_id, "pair_id": pair_id}}
        if change.fields:
            update["$set"] = {name: getattr(value, "value", value) for name, value in change.fields.items()}
        added: Document = {}
        if change.participants:
            added["participant_ids"] = {"$each": await self._known_ids(org_id, change.participants)}
        if change.counted is not None:
            added[change.counted[0].value] = change.counted[1]
        if added:
            update["$addToSet"] = added
        if change.highest:
            update["$max"] = dict(change.highest)
        await self._grouped.upsert({"_id": f"{org_id}:{pair_id}"}, update)

    async def of_program(self, org_id: str, program_id: str) -> list[PairOutcomeRecord]:
        query = {"org_id": org_id, "program_id": program_id}
        return [PairOutcomeRecord.model_validate(d) async for d in self._collection.find(query)]

    async def started(self, org_id: str, pair_ids: list[str]) -> set[str]:
        # By id, grouped: the effects of a relay's pass that ask for one pair each share one read.
        started: set[str] = set()
        for first in range(0, len(pair_ids), _STARTED_READ):
            ids = [f"{org_id}:{pair_id}" for pair_id in pair_ids[first : first + _STARTED_READ]]
            found = await self._grouped.find_by_ids(ids)
            started.update(d["pair_id"] for d in found if all(d.get(field) is not None for field in _START))
        return started

    async def forget_person(self, org_id: str, person_id: str) -> None:
        mark = person_mark(org_id, person_id)
        await self._erased.update_one({"_id": mark}, {"$setOnInsert": {"org_id": org_id}}, upsert=True)
        await self._collection.delete_many({"org_id": org_id, "participant_ids": person_id})


def proposal_document(proposal: WeightProposal) -> Document:
    return {
        "_id": f"{proposal.org_id}:{proposal.program_id}:{proposal.proposal_id}",
        "proposal_id": proposal.proposal_id,
        **asdict(proposal),
    }


def proposal_of(document: Document) -> WeightProposal:
    fields = {name: document[name] for name in WeightProposal.__dataclass_fields__}
    for name in ("current_auc", "learned_auc", "lift"):
        fields[name] = Interval(**fields[name])
    return WeightProposal(**fields)


class StoredWeightProposals:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def save(self, proposal: WeightProposal) -> None:
        document = proposal_document(proposal)
        await self._collection.replace_one({"_id": document["_id"]}, document, upsert=True)

    async def get(self, org_id: str, program_id: str, proposal_id: str) -> WeightProposal | None:
        document = await self._collection.find_one({"_id": f"{org_id}:{program_id}:{proposal_id}"})
        return None if document is None else proposal_of(document)
