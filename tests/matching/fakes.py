"""The matching use cases' context in memory (no server): `InMemoryAggregates` for every aggregate
and small in-memory twins of the read queries, the deletions and the run items."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from matching.domain.formed_circle import FormedCircle
from matching.domain.inclusion import InclusionRecord, inclusion_key
from matching.domain.match_run import MatchRun
from matching.domain.mentor import MentorCandidate, mentor_key
from matching.domain.org_view import OrgView
from matching.domain.program import Program
from matching.domain.seat import MenteeSeat, SeatStatus
from matching.domain.seat_parts import HoldKind
from matching.use_cases.context import Matching, RunItemKind
from mentorship_schemas import Event
from servicekit.aggregates import AggregateRoot, InMemoryAggregates
from servicekit.erasure import pseudonym, without_person

A = TypeVar("A", bound=AggregateRoot)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def _all(store: InMemoryAggregates[A]) -> list[A]:
    return [store.model.model_validate(copy.deepcopy(document)) for document in store.documents.values()]


@dataclass
class MemoryReads:
    seats: InMemoryAggregates[MenteeSeat]
    mentors: InMemoryAggregates[MentorCandidate]
    programs: InMemoryAggregates[Program]
    circles_: InMemoryAggregates[FormedCircle]
    inclusion: InMemoryAggregates[InclusionRecord]
    runs: InMemoryAggregates[MatchRun]

    def _seats(self, org_id: str | None = None, status: SeatStatus | None = None) -> list[MenteeSeat]:
        return [
            seat
            for seat in _all(self.seats)
            if (org_id is None or seat.org_id == org_id) and (status is None or seat.status is status)
        ]

    async def org(self, org_id: str) -> OrgView:
        mentors = [mentor for mentor in _all(self.mentors) if mentor.org_id == org_id]
        return OrgView.of(org_id, self._seats(org_id), mentors)

    def refresh(self, org_id: str) -> None:
        """Nothing kept: every read is fresh."""

    def refresh_mentors(self, org_id: str) -> None:
        """Nothing kept: every read is fresh."""

    async def seats_of(self, org_id: str, person_id: str) -> list[MenteeSeat]:
        return [seat for seat in self._seats(org_id) if seat.person_id == person_id]

    async def held_seat(self, org_id: str, hold_id: str, kind: HoldKind) -> MenteeSeat | None:
        held = self._seats(org_id, SeatStatus.HELD)
        return next((s for s in held if s.hold and s.hold.id == hold_id and s.hold.kind is kind), None)

    async def paired_seat(self, org_id: str, pair_id: str) -> MenteeSeat | None:
        return next(
            (s for s in self._seats(org_id, SeatStatus.PAIRED) if s.pair and s.pair.pair_id == pair_id), None
        )

    async def seats_held_for(self, org_id: str, mentor_id: str) -> list[MenteeSeat]:
        return [s for s in self._seats(org_id, SeatStatus.HELD) if s.hold and s.hold.mentor_id == mentor_id]

    async def seats_paired_with(self, org_id: str, mentor_id: str) -> list[MenteeSeat]:
        return [s for s in self._seats(org_id, SeatStatus.PAIRED) if s.pair and s.pair.mentor_id == mentor_id]

    async def pairs_of(self, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
        paired = self._seats(org_id, SeatStatus.PAIRED)
        return [s for s in paired if person_id in (s.person_id, s.pair and s.pair.mentor_id)][:limit]

    async def requests_of(self, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
        held = self._seats(org_id, SeatStatus.HELD)
        return [
            s
            for s in held
            if s.hold and s.hold.kind is HoldKind.REQUEST and person_id in (s.person_id, s.hold.mentor_id)
        ][:limit]

    async def proposals(self, org_id: str, program_id: str | None, limit: int) -> list[MenteeSeat]:
        held = self._seats(org_id, SeatStatus.HELD)
        return [
            s
            for s in held
            if s.hold and s.hold.kind is HoldKind.PROPOSAL and program_id in (None, s.hold.program_id)
        ][:limit]

    async def due_requests(self, now: datetime, limit: int) -> list[MenteeSeat]:
        held = self._seats(status=SeatStatus.HELD)
        return [s for s in held if s.hold and s.hold.expires_at and s.hold.expires_at <= now][:limit]

    async def due_pair_ends(self, now: datetime, limit: int) -> list[MenteeSeat]:
        paired = self._seats(status=SeatStatus.PAIRED)
        return [s for s in paired if s.pair and s.pair.ends_at and s.pair.ends_at <= now][:limit]

    async def circle_members(self, org_id: str, program_id: str) -> list[MenteeSeat]:
        members = self._seats(org_id, SeatStatus.IN_CIRCLE)
        return [s for s in members if s.circle and s.circle.program_id == program_id]

    async def seats_with_pairs_in(self, org_id: str, program_id: str) -> list[MenteeSeat]:
        return [
            s
            for s in self._seats(org_id)
            if any(p is not None and p.program_id == program_id for p in (s.pair, s.last_pair))
        ]

    async def seats_naming(self, org_id: str, person_id: str) -> list[MenteeSeat]:
        def names(seat: MenteeSeat) -> bool:
            mentors = {part.mentor_id for part in (seat.hold, seat.pair, seat.last_pair) if part is not None}
            circle = set(seat.circle.member_ids) if seat.circle else set()
            audit = {name for entry in seat.audit for name in (entry.mentor_id, entry.by)}
            named = mentors | set(seat.previous_mentors) | set(seat.declined_mentors) | circle | audit
            return person_id in named

        return [s for s in self._seats(org_id) if s.person_id != person_id and names(s)]

    async def programs_of(self, org_id: str) -> list[Program]:
        return [p for p in _all(self.programs) if p.org_id == org_id]

    async def runs_naming(self, org_id: str, person_id: str) -> list[str]:
        skipping = [r for r in _all(self.runs) if r.org_id == org_id and r.applied is not None]
        return [r.id for r in skipping if r.applied is not None and person_id in r.applied.skipped]

    async def circles(
        self, org_id: str, *, program_id: str | None = None, member_id: str | None = None, limit: int = 1000
    ) -> list[FormedCircle]:
        return [
            c
            for c in _all(self.circles_)
            if c.org_id == org_id
            and program_id in (None, c.program_id)
            and (member_id is None or member_id in c.member_ids)
        ][:limit]

    async def inclusion_of(self, org_id: str, person_ids: list[str]) -> list[InclusionRecord]:
        return [r for r in _all(self.inclusion) if r.org_id == org_id and r.person_id in person_ids]


@dataclass
class MemoryForgetting:
    seats: InMemoryAggregates[MenteeSeat]
    mentors: InMemoryAggregates[MentorCandidate]
    inclusion: InMemoryAggregates[InclusionRecord]

    async def delete_mentor(self, org_id: str, person_id: str) -> None:
        self.mentors.documents.pop(mentor_key(org_id, person_id), None)

    async def delete_seat(self, seat_id: str) -> None:
        self.seats.documents.pop(seat_id, None)

    async def delete_inclusion(self, org_id: str, person_id: str) -> None:
        self.inclusion.documents.pop(inclusion_key(org_id, person_id), None)

    async def seal_erased_seats(self, limit: int = 500) -> int:
        """Here events count as published at once: every erased seat is sealed."""
        erased = [
            k for k, d in self.seats.documents.items() if d.get("status") == "erased" and not d.get("sealed")
        ]
        for key in erased:
            seat = self.seats.documents.pop(key)
            if any(seat.get(part) for part in ("pair", "last_pair", "circle")):
                moved = f"erased:{hashlib.sha256(key.encode()).hexdigest()}"
                self.seats.documents[moved] = {**seat, "_id": moved, "sealed": True}
        return len(erased)


class MemoryRunItems:
    def __init__(self) -> None:
        self.items: dict[tuple[str, RunItemKind], list[dict[str, Any]]] = {}

    async def store(self, run: MatchRun, kind: RunItemKind, items: list[dict[str, Any]]) -> None:
        self.items[(run.run_id, kind)] = list(items)

    async def page(self, run_id: str, kind: RunItemKind, offset: int, limit: int) -> list[dict[str, Any]]:
        return self.items.get((run_id, kind), [])[offset : offset + limit]

    async def forget_person(self, org_id: str, person_id: str) -> None:
        stand_in = pseudonym(org_id, person_id)
        self.items = {key: without_person(items, person_id, stand_in) for key, items in self.items.items()}


@dataclass
class InMemoryMatching:
    """The context the use cases get, and its parts, for a test to arrange and inspect."""

    context: Matching
    clock: FakeClock
    seats: InMemoryAggregates[MenteeSeat]
    mentors: InMemoryAggregates[MentorCandidate]
    programs: InMemoryAggregates[Program]
    runs: InMemoryAggregates[MatchRun]
    circles: InMemoryAggregates[FormedCircle]
    inclusion: InMemoryAggregates[InclusionRecord]

    @classmethod
    def new(cls) -> InMemoryMatching:
        clock = FakeClock()
        seats, mentors = InMemoryAggregates(MenteeSeat), InMemoryAggregates(MentorCandidate)
        programs, runs = InMemoryAggregates(Program), InMemoryAggregates(MatchRun)
        circles, inclusion = InMemoryAggregates(FormedCircle), InMemoryAggregates(InclusionRecord)
        context = Matching(
            seats=seats,
            mentors=mentors,
            programs=programs,
            runs=runs,
            circles=circles,
            inclusion=inclusion,
            reads=MemoryReads(seats, mentors, programs, circles, inclusion, runs),
            forgetting=MemoryForgetting(seats, mentors, inclusion),
            run_items=MemoryRunItems(),
            clock=clock,
        )
        return cls(context, clock, seats, mentors, programs, runs, circles, inclusion)

    def published(self, event_type: type[Event]) -> list[Any]:
        """The events of this type every store would have published, in order."""
        stores: list[InMemoryAggregates[Any]] = [self.seats, self.runs, self.circles]
        return [e.event for store in stores for e in store.published if isinstance(e.event, event_type)]

    async def seat(self, org_id: str, person_id: str, number: int = 1) -> MenteeSeat:
        from matching.domain.seat import seat_key

        seat = await self.seats.get(seat_key(org_id, person_id, number))
        assert seat is not None, person_id
        return seat

    async def mentor(self, org_id: str, person_id: str) -> MentorCandidate:
        mentor = await self.mentors.get(mentor_key(org_id, person_id))
        assert mentor is not None, person_id
        return mentor
