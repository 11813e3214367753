"""In-memory twins of the sessions service's ports, for use-case tests without a server: the
relationships in `InMemoryAggregates`, due indexes, notes and the cross-relationship queries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from servicekit.aggregates import InMemoryAggregates
from servicekit.clock import ManualClock
from servicekit.due_index import DueEntry
from servicekit.erasure import is_pseudonym
from sessions.domain import figures
from sessions.domain.notes import Note
from sessions.domain.people import Person
from sessions.domain.policy import SessionsPolicy
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipStatus
from sessions.use_cases import SessionsContext
from sessions.use_cases.context import DueIndexes

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Put:
    key: str
    due_at: datetime
    version_stored: int | None  # the relationship's stored version when the entry was written


class InMemoryDueIndex:
    """One entry per (key, due date), as partitions keep a moved entry apart from the old one."""

    def __init__(self, relationships: InMemoryAggregates[Relationship]) -> None:
        self._relationships = relationships
        self.entries: dict[tuple[str, datetime], DueEntry] = {}
        self.puts: list[Put] = []

    async def put(
        self, key: str, due_at: datetime, payload: dict[str, Any] | None = None, *, now: datetime
    ) -> str:
        payload = dict(payload or {})
        stored = self._relationships.documents.get(payload.get("pair_id", ""))
        self.puts.append(Put(key, due_at, None if stored is None else stored["version"]))
        self.entries[(key, due_at)] = DueEntry("memory", key, due_at, payload)
        return "memory"

    async def find_due(self, cutoff: datetime, limit: int) -> list[DueEntry]:
        due = sorted((e for e in self.entries.values() if e.due_at <= cutoff), key=lambda e: e.due_at)
        return due[:limit]

    async def remove(self, entry: DueEntry) -> None:
        self.entries.pop((entry.key, entry.due_at), None)

    async def tidy(self, now: datetime) -> int:
        return 0


class InMemoryNotes:
    def __init__(self) -> None:
        self.notes: list[Note] = []

    async def add(self, note: Note) -> None:
        self.notes.append(note)

    async def of_author(self, org_id: str, pair_id: str, author_id: str) -> list[Note]:
        mine = [n for n in self.notes if (n.org_id, n.pair_id, n.author_id) == (org_id, pair_id, author_id)]
        return sorted(mine, key=lambda n: n.created_at)

    async def erase_author(self, org_id: str, author_id: str) -> None:
        self.notes = [n for n in self.notes if (n.org_id, n.author_id) != (org_id, author_id)]


class InMemoryPeople:
    def __init__(self) -> None:
        self.people: dict[tuple[str, str], Person] = {}

    async def keep(self, person: Person) -> bool:
        key = (person.org_id, person.person_id)
        if not person.newer_than(self.people.get(key)):
            return False
        self.people[key] = person
        return True

    async def of(self, org_id: str, person_ids: Iterable[str]) -> dict[str, Person]:
        found = {p: self.people[(org_id, p)] for p in person_ids if (org_id, p) in self.people}
        return found | {p: Person.tombstone(org_id, p) for p in person_ids if is_pseudonym(p)}


class InMemoryQueries:
    def __init__(self, relationships: InMemoryAggregates[Relationship]) -> None:
        self._relationships = relationships

    def _all(self, org_id: str) -> list[Relationship]:
        documents = sorted(self._relationships.documents.values(), key=lambda d: str(d["_id"]))
        return [Relationship.model_validate(d) for d in documents if d["org_id"] == org_id]

    async def pair_of_session(self, org_id: str, session_id: str) -> str | None:
        return next(
            (r.id for r in self._all(org_id) if any(s.session_id == session_id for s in r.sessions)), None
        )

    async def pairs_of_person(self, org_id: str, person_id: str) -> list[str]:
        return [r.id for r in self._all(org_id) if r.is_member(person_id)]

    async def in_program(
        self, org_id: str, program_id: str, *, status: RelationshipStatus | None, at_risk: bool | None
    ) -> AsyncIterator[Relationship]:
        for relationship in self._all(org_id):
            if relationship.program_id != program_id:
                continue
            if status is not None and relationship.status != status:
                continue
            if at_risk is not None and figures.at_risk(relationship) != at_risk:
                continue
            yield relationship


@dataclass
class World:
    """A sessions service in memory, with a clock the test moves."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    policy: SessionsPolicy = field(default_factory=SessionsPolicy)
    relationships: InMemoryAggregates[Relationship] = field(
        default_factory=lambda: InMemoryAggregates(Relationship)
    )

    def __post_init__(self) -> None:
        self.session_ends = InMemoryDueIndex(self.relationships)
        self.action_items = InMemoryDueIndex(self.relationships)
        self.health_checks = InMemoryDueIndex(self.relationships)
        self.notes = InMemoryNotes()
        self.people = InMemoryPeople()
        self.context = SessionsContext(
            relationships=self.relationships,
            due=DueIndexes(self.session_ends, self.action_items, self.health_checks),
            notes=self.notes,
            people=self.people,
            queries=InMemoryQueries(self.relationships),
            policy=self.policy,
            now=self.clock.now,
        )

    def published(self, pair_id: str | None = None) -> list[str]:
        """The types of the events written so far (of one pair, if given), in order."""
        return [
            type(item.event).__name__
            for item in self.relationships.published
            if pair_id is None or getattr(item.event, "pair_id", None) == pair_id
        ]

    async def relationship(self, pair_id: str) -> Relationship:
        found = await self.relationships.get(pair_id)
        assert found is not None
        return found
