"""What the simulation knows and remembers: the people, where each mentee takes part, the pairs it
has seen with their temperament, and a journal of what it did (for the checks and the report)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulation.org import Person
from simulation.programs import ProgramPlan


@dataclass
class SessionPlan:
    session_id: str
    starts_at: datetime
    status: str
    decided: bool = False


@dataclass
class PairState:
    pair_id: str
    program_id: str
    kind: str  # pair | circle
    participants: list[str]
    mentor_id: str | None
    mentee_id: str | None
    attendance: float  # how likely the pair meets when a session comes
    rng: random.Random  # its own, so pairs acting at once stay reproducible
    silent_until: datetime | None = None  # a quiet spell: no session is held until then
    signed: bool = False
    goal: tuple[str, list[str]] | None = None  # (goal id, milestone ids still open)
    open_items: list[str] = field(default_factory=list)
    sessions: dict[str, SessionPlan] = field(default_factory=dict)
    fetched_at: datetime | None = None
    ended: bool = False

    def silent(self, now: datetime) -> bool:
        return self.silent_until is not None and now < self.silent_until


@dataclass
class Journal:
    """What the simulation did that the checks compare with what the platform did."""

    erasures: list[dict[str, Any]] = field(default_factory=list)  # person, at, pairs, role
    escalations: list[dict[str, Any]] = field(default_factory=list)  # pair, mentee, program, at
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id -> mentee, mentor
    # The requests mentees made themselves (`requests` also holds those the platform made for
    # them, which they saw in their list: an escalation's follow-up is one).
    asked: set[str] = field(default_factory=set)
    joined_at: dict[str, datetime] = field(default_factory=dict)  # mentee -> when they started waiting
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # month, invariant -> evidence
    actions: dict[str, int] = field(default_factory=dict)  # what people did, counted

    def count(self, action: str, n: int = 1) -> None:
        self.actions[action] = self.actions.get(action, 0) + n


@dataclass
class World:
    rng: random.Random
    seed: int
    people: dict[str, Person]
    plans: dict[str, ProgramPlan]
    program_of: dict[str, str]  # mentee -> program
    start: datetime
    present: set[str] = field(default_factory=set)  # imported and not erased
    pairs: dict[str, PairState] = field(default_factory=dict)
    paused_until: dict[str, datetime] = field(default_factory=dict)  # mentor -> resume then
    open_request: dict[str, str] = field(default_factory=dict)  # mentee -> request id
    journal: Journal = field(default_factory=Journal)
    silent_programs: set[str] = field(default_factory=set)  # programs that had a never-meeting pair

    def active_pairs(self) -> list[PairState]:
        return [pair for pair in self.pairs.values() if not pair.ended]

    def mentees_in(self, program_id: str) -> list[str]:
        return sorted(
            p for p, program in self.program_of.items() if program == program_id and p in self.present
        )

    def paired(self) -> set[str]:
        return {person for pair in self.active_pairs() for person in pair.participants}

    def new_pair(self, pair_id: str, body: dict[str, Any]) -> PairState:
        """A pair seen for the first time; its temperament is drawn now. The first pair of each
        programme never meets (so every programme sees stagnation and what follows it)."""
        program = body["program_id"]
        if program not in self.silent_programs and body["kind"] == "pair":
            self.silent_programs.add(program)
            attendance = 0.0
        else:
            attendance = random.Random(f"{self.seed}:{pair_id}:attendance").choice(
                (0.95, 0.9, 0.85, 0.8, 0.7, 0.5)
            )
        pair = PairState(
            pair_id=pair_id,
            program_id=program,
            kind=body["kind"],
            participants=list(body["participant_ids"]),
            mentor_id=body.get("mentor_id"),
            mentee_id=body.get("mentee_id"),
            attendance=attendance,
            rng=random.Random(f"{self.seed}:{pair_id}"),
        )
        self.pairs[pair_id] = pair
        return pair
