"""The use cases' dependencies (`Matching`: the aggregate stores, the read queries, the clock), the
caller they act for, and the errors they raise (the HTTP adapter turns them into problems)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ParamSpec, Protocol, TypeVar

from servicekit.aggregates import Aggregates
from servicekit.coalesce import Coalescer

from matching.domain.formed_circle import FormedCircle
from matching.domain.inclusion import InclusionRecord
from matching.domain.match_run import MatchRun
from matching.domain.mentor import MentorCandidate
from matching.domain.org_view import OrgView
from matching.domain.program import Program
from matching.domain.seat import MenteeSeat
from matching.domain.seat_parts import HoldKind
from matching.engine_runner import EngineInThreads
from matching.use_cases.ai_ports import LearningParts, SemanticParts

P = ParamSpec("P")
R = TypeVar("R")


class Clock(Protocol):
    def now(self) -> datetime: ...


class CandidateReads(Protocol):
    """The queries the use cases need over the stored aggregates (each within one org, except the
    sweeps' due requests and pair ends)."""

    async def org(self, org_id: str) -> OrgView: ...

    def refresh(self, org_id: str) -> None:
        """Read the org afresh next time (an offer found it changed behind the view's back)."""
        ...

    def refresh_mentors(self, org_id: str) -> None:
        """Read the org's mentors afresh next time (a place the view had free was taken)."""
        ...

    async def seats_of(self, org_id: str, person_id: str) -> list[MenteeSeat]: ...

    async def held_seat(self, org_id: str, hold_id: str, kind: HoldKind) -> MenteeSeat | None: ...

    async def paired_seat(self, org_id: str, pair_id: str) -> MenteeSeat | None: ...

    async def seats_held_for(self, org_id: str, mentor_id: str) -> list[MenteeSeat]: ...

    async def seats_paired_with(self, org_id: str, mentor_id: str) -> list[MenteeSeat]: ...

    async def pairs_of(self, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
        """Paired seats the person is in, as mentee or as mentor."""
        ...

    async def requests_of(self, org_id: str, person_id: str, limit: int) -> list[MenteeSeat]:
        """Seats held by a request the person made or was asked."""
        ...

    async def proposals(self, org_id: str, program_id: str | None, limit: int) -> list[MenteeSeat]: ...

    async def due_requests(self, now: datetime, limit: int) -> list[MenteeSeat]: ...

    async def due_pair_ends(self, now: datetime, limit: int) -> list[MenteeSeat]: ...

    async def circle_members(self, org_id: str, program_id: str) -> list[MenteeSeat]: ...

    async def seats_with_pairs_in(self, org_id: str, program_id: str) -> list[MenteeSeat]:
        """Seats whose pair, or last pair, is of the program."""
        ...

    async def seats_naming(self, org_id: str, person_id: str) -> list[MenteeSeat]:
        """Other people's seats that name the person (as mentor, former mentor, circle member)."""
        ...

    async def programs_of(self, org_id: str) -> list[Program]: ...

    async def orgs_with_waiting_seats(self) -> list[str]:
        """Every org where a mentee's seat waits (continuous matching's work, found again)."""
        ...

    async def circles(
        self, org_id: str, *, program_id: str | None = None, member_id: str | None = None, limit: int = 1000
    ) -> list[FormedCircle]: ...

    async def inclusion_of(self, org_id: str, person_ids: list[str]) -> list[InclusionRecord]: ...

    async def runs_naming(self, org_id: str, person_id: str) -> list[str]:
        """The audited runs whose application names the person (a mentee it skipped)."""
        ...


class Engine(Protocol):
    """Where the engine's runs execute (engine_runner.py): `work` is a domain function, a run that
    scores `scored_pairs` mentee-mentor pairs (what the place to run it depends on)."""

    async def call(self, scored_pairs: int, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...


class Forgetting(Protocol):
    """Deletions an erasure needs (documents that carry no pending events)."""

    async def delete_mentor(self, org_id: str, person_id: str) -> None: ...

    async def delete_seat(self, seat_id: str) -> None: ...

    async def delete_inclusion(self, org_id: str, person_id: str) -> None: ...

    async def seal_erased_seats(self, limit: int = 500) -> int:
        """Erased seats whose events are out keep no employee id (history moves, the rest goes)."""
        ...


class RunItemKind(StrEnum):
    PAIRS = "pairs"
    UNMATCHED = "unmatched"


class RunItems(Protocol):
    """A run's pairs and unmatched mentees, stored apart in chunks (a 50,000-mentee run would not
    fit in one document) and read in pages, in the run's order."""

    async def store(self, run: MatchRun, kind: RunItemKind, items: list[dict[str, Any]]) -> None: ...

    async def page(self, run_id: str, kind: RunItemKind, offset: int, limit: int) -> list[dict[str, Any]]: ...

    async def forget_person(self, org_id: str, person_id: str) -> None:
        """The runs keep their pairs and reasons, under a pseudonym for an erased person."""
        ...


@dataclass(frozen=True)
class Matching:
    seats: Aggregates[MenteeSeat]
    mentors: Aggregates[MentorCandidate]
    programs: Aggregates[Program]
    runs: Aggregates[MatchRun]
    circles: Aggregates[FormedCircle]
    inclusion: Aggregates[InclusionRecord]
    reads: CandidateReads
    forgetting: Forgetting
    run_items: RunItems
    clock: Clock
    # Shares one continuous-matching run among the callers of a short window (None: run each time).
    coalescer: Coalescer | None = None
    # Continuous matching runs behind the caller instead of before it returns (the consumer's
    # handlers: what a run needs is the waiting seats they stored, and a sweep finds those again).
    behind: bool = False
    # Embeddings for the semantic goals component, and learning weights from outcomes (None: off).
    semantic: SemanticParts | None = None
    learning: LearningParts | None = None
    # Where the engine's runs execute (the service: big runs in a process of its own).
    engine: Engine = field(default_factory=EngineInThreads)

    def now(self) -> datetime:
        return self.clock.now()


@dataclass(frozen=True)
class Caller:
    """Who asks, from the portal's token."""

    org_id: str
    person_id: str
    is_admin: bool = False


class MatchingError(Exception):
    """A use case refused; `field` names the input at fault, when one is."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(MatchingError):
    """Absent, or not the caller's to see (so its existence is not revealed)."""


class Conflict(MatchingError):
    """Not possible in the current state (changed meanwhile, closed, already there)."""


class Refused(MatchingError):
    """The input breaks a rule (an ineligible mentor, bad settings)."""


class NotAllowed(MatchingError):
    """The caller may not do this."""
