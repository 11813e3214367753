"""The parts of a mentee seat: the mentor a match offers, an open proposal or request (a hold), a
pair with its stagnation signal, and the circle a member carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from matching.domain.candidate import ERASED


class HoldKind(StrEnum):
    PROPOSAL = "proposal"  # awaits an admin's approval
    REQUEST = "request"  # awaits the mentor's answer, until its deadline


@dataclass(frozen=True)
class Match:
    """A mentor chosen for a seat, with the explanation the portal shows."""

    mentor_id: str
    score: float
    reasons: tuple[str, ...] = ()
    breakdown: dict[str, float] = field(default_factory=dict)
    components: dict[str, float] | None = None  # unweighted values, when the engine's run gave them


class Hold(BaseModel):
    """An open proposal or request: it holds the mentor's place until answered."""

    id: str
    kind: HoldKind
    mentor_id: str
    program_id: str
    score: float
    reasons: list[str] = []
    breakdown: dict[str, float] = {}
    components: dict[str, float] | None = None
    run_id: str | None = None
    message: str | None = None
    automatic: bool = False
    focus: str | None = None
    created_at: datetime
    expires_at: datetime | None = None

    def as_match(self) -> Match:
        return Match(self.mentor_id, self.score, tuple(self.reasons), dict(self.breakdown), self.components)


class Stagnation(BaseModel):
    """An open RelationshipStagnant signal on a pair, until it recovers or is escalated."""

    episode_id: str
    severity: str
    reasons: list[str]
    suggested_actions: list[str] = []
    since: datetime | None = None


class Pair(BaseModel):
    pair_id: str
    mentor_id: str
    program_id: str
    score: float
    reasons: list[str] = []
    breakdown: dict[str, float] = {}
    # Each component's value with the weights left out, as the run that made the pair valued it
    # (what matching learns weights on); None for a pair no run valued.
    components: dict[str, float] | None = None
    created_at: datetime
    ends_at: datetime | None = None
    via: str | None = None  # the run, proposal or request that made it
    focus: str | None = None
    stagnation: Stagnation | None = None

    def anonymised(self, mentor_erased: bool = False) -> None:
        self.reasons, self.breakdown, self.components = [], {}, None
        if mentor_erased:
            self.mentor_id = ERASED
        else:
            self.focus = None


class EndedPair(Pair):
    ended_at: datetime
    end_reason: str


class CircleRecord(BaseModel):
    """A circle as its members carry it (so a circle lost between claiming and storing is repaired)."""

    circle_id: str
    org_id: str
    program_id: str
    member_ids: list[str]
    facilitator_rota: list[str]
    topics: list[str]
    created_at: datetime

    def without(self, person_id: str) -> None:
        self.member_ids = [ERASED if m == person_id else m for m in self.member_ids]
        self.facilitator_rota = [ERASED if m == person_id else m for m in self.facilitator_rota]


class AuditEntry(BaseModel):
    """What a program admin decided about a seat by hand, and why: kept for the audit, never put
    in an event and never shown to the mentee (an erasure keeps only that it happened)."""

    at: datetime
    by: str  # the admin
    action: str  # paired_by_hand | proposal_rejected
    mentor_id: str
    subject_id: str = ""  # the pair made or the proposal rejected
    note: str | None = None  # the admin's stated reason
    overridden: list[str] = []  # soft rules the admin overrode, with that reason

    def anonymised(self, erased: str | None = None) -> None:
        """Without the admin's words (which may speak of the erased person), and without the erased
        person's id (None: the seat's own mentee was erased)."""
        self.note = None
        if self.mentor_id == erased:
            self.mentor_id = ERASED
        if self.by == erased:
            self.by = ERASED
