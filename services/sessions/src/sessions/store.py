"""Sessions' collections, their indexes, and the queries the use cases need beyond load-by-id.

- `relationships`: one document per pair or circle, the aggregate: its agreement, its sessions
  (embedded, with agenda, attendance and feedback), action items, goals, health, and its outbox.
  Every change to a relationship and the events it causes is one single-document write
  (`servicekit.aggregates.AggregateStore`).
- `notes`: private notes, one document per note, read only by their author; never in an event.
- `people`: our copy of each person in a relationship (`domain.people`), fed by profile events, one
  document per person and org (`<org>:<person>`); an erased person leaves only a tombstone.
- Due-date indexes, time-partitioned (see `servicekit.due_index`): `due_sessions_*` (a session's
  end, for the missed sweep), `due_actions_*` (an action item's due date), `due_health_*` (the next
  moment a pair's health may change with time alone). Sweeps read only the partitions that are due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from servicekit.aggregates import ConcurrentUpdate
from servicekit.due_index import TimePartitionedDueIndex
from servicekit.erasure import is_pseudonym, person_mark, pseudonym
from servicekit.grouped import WRITE_IDS, Grouped

from sessions.domain.notes import Note
from sessions.domain.people import Person
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipStatus
from sessions.use_cases.context import DueIndexes

Document = dict[str, Any]

RELATIONSHIPS = "relationships"
NOTES = "notes"
PEOPLE = "people"
DUE_SESSIONS = "due_sessions"
DUE_ACTIONS = "due_actions"
DUE_HEALTH = "due_health"
MY_NOTES_LIMIT = 500


def session_due_index(
    db: AsyncDatabase[Document], width: timedelta = timedelta(hours=6)
) -> TimePartitionedDueIndex:
    # Narrower partitions hold less beyond what is due, but listing collections grows with their
    # number. 6 h partitions keep a sweep's read to about what is due (benchmarks/sessions_sweep.py).
    return TimePartitionedDueIndex(db, DUE_SESSIONS, width=width)


def due_indexes(db: AsyncDatabase[Document], session_partition: timedelta) -> DueIndexes:
    return DueIndexes(
        session_ends=session_due_index(db, session_partition),
        action_items=TimePartitionedDueIndex(db, DUE_ACTIONS),
        health_checks=TimePartitionedDueIndex(db, DUE_HEALTH),
    )


async def create_indexes(relationships: AsyncCollection[Document], notes: AsyncCollection[Document]) -> None:
    await relationships.create_index([("org_id", ASCENDING), ("program_id", ASCENDING)], name="org_program")
    await relationships.create_index(
        [("org_id", ASCENDING), ("participant_ids", ASCENDING)], name="org_participants"
    )
    await relationships.create_index([("sessions.session_id", ASCENDING)], name="session_id")
    await notes.create_index(
        [("org_id", ASCENDING), ("pair_id", ASCENDING), ("author_id", ASCENDING)], name="org_pair_author"
    )


class MongoRelationshipQueries:
    """Reads over the relationships collection (the aggregate store writes it)."""

    def __init__(self, relationships: AsyncCollection[Document]) -> None:
        self.relationships = relationships

    async def pair_of_session(self, org_id: str, session_id: str) -> str | None:
        owner = await self.relationships.find_one(
            {"org_id": org_id, "sessions.session_id": session_id}, {"_id": 1}
        )
        return None if owner is None else str(owner["_id"])

    async def pairs_of_person(self, org_id: str, person_id: str) -> list[str]:
        cursor = self.relationships.find({"org_id": org_id, "participant_ids": person_id}, {"_id": 1})
        return [str(document["_id"]) async for document in cursor]

    async def in_program(
        self, org_id: str, program_id: str, *, status: RelationshipStatus | None, at_risk: bool | None
    ) -> AsyncIterator[Relationship]:
        """The program's relationships by id, without their outboxes."""
        query: Document = {"org_id": org_id, "program_id": program_id}
        if status is not None:
            query["status"] = status.value
        if at_risk is True:  # stagnating and still going: an ended pair is no longer at risk
            if status == RelationshipStatus.ENDED:
                return
            query["status"] = RelationshipStatus.ACTIVE.value
            query["health.episode_open"] = True
        elif at_risk is False:
            query["$or"] = [{"status": RelationshipStatus.ENDED.value}, {"health.episode_open": False}]
        async for document in self.relationships.find(query, {"outbox": 0}, sort=[("_id", 1)]):
            yield Relationship.model_validate(document)


class MongoNotes:
    def __init__(self, notes: AsyncCollection[Document]) -> None:
        self.notes = notes

    async def add(self, note: Note) -> None:
        await self.notes.insert_one(note.model_dump(by_alias=True))

    async def of_author(self, org_id: str, pair_id: str, author_id: str) -> list[Note]:
        cursor = self.notes.find(
            {"org_id": org_id, "pair_id": pair_id, "author_id": author_id},
            sort=[("created_at", 1)],
            limit=MY_NOTES_LIMIT,
        )
        return [Note.model_validate(document) async for document in cursor]

    async def erase_author(self, org_id: str, author_id: str) -> None:
        await self.notes.delete_many({"org_id": org_id, "author_id": author_id})


class MongoPeople:
    """Our copy of the people, one document each; a write replaces it only when it is newer
    (compare-and-set on what was read, so two replicas applying events at once keep the newest)."""

    def __init__(self, people: AsyncCollection[Document], attempts: int = 10) -> None:
        self._grouped_people = Grouped(people)  # a consumer batch's profile events in one command each way
        self._attempts = attempts

    async def keep(self, person: Person) -> bool:
        key = _person_key(person.org_id, person.person_id)
        document = {"_id": key, **person.model_dump(mode="json")}
        if person.erased:  # the tombstone keeps no id: its key is a mark, its name a pseudonym
            document["person_id"] = pseudonym(person.org_id, person.person_id)
        # Reads and writes join a consumer batch's groups (`servicekit.grouped`): a profile event
        # each, 6,000 of them in the journey benchmark, were one command each.
        fields = {name: value for name, value in document.items() if name != "_id"}
        for _ in range(self._attempts):
            stored = await self._grouped_people.find_by_id(key)
            if not person.newer_than(None if stored is None else _person(stored)):
                return False
            if stored is None:
                try:
                    await self._grouped_people.insert(document)
                    return True
                except DuplicateKeyError:
                    continue
            unchanged = {"_id": key, "profile_version": stored["profile_version"], "erased": stored["erased"]}
            # Every field of a person is set (none is ever left out), so this replaces the copy.
            if await self._grouped_people.update(unchanged, {"$set": fields}):
                return True
        raise ConcurrentUpdate(f"gave up keeping person {key} after conflicts")

    async def of(self, org_id: str, person_ids: Iterable[str]) -> dict[str, Person]:
        wanted = list(dict.fromkeys(person_ids))
        keys = [_person_key(org_id, person_id) for person_id in wanted]
        # Someone erased appears in the records they were in under a pseudonym: a former participant.
        found = {p: Person.tombstone(org_id, p) for p in wanted if is_pseudonym(p)}
        for document in await self._grouped_people.find_by_ids(keys):
            person = _person(document)
            found[person.person_id] = person
        return found


def _person_key(org_id: str, person_id: str) -> str:
    return f"{org_id}:{person_mark(org_id, person_id)}"


def _person(document: Document) -> Person:
    stored = {key: value for key, value in document.items() if key not in ("_id", WRITE_IDS)}
    return Person.model_validate(stored)
