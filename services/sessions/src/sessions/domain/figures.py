"""A pair's figures for reports (sessions held and missed, cadence adherence, goals achieved) and
a program's totals over its pairs. Pure: the time is a parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sessions.domain.cadence import NOMINAL_PERIOD
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipStatus, SessionStatus


@dataclass(frozen=True)
class PairFigures:
    sessions_held: int
    sessions_missed: int
    cadence_adherence: float  # held sessions over the sessions the cadence expected, at most 1
    goals_achieved: int


def pair_figures(relationship: Relationship, now: datetime) -> PairFigures:
    statuses = [session.status for session in relationship.sessions]
    held = statuses.count(SessionStatus.HELD)
    agreement = relationship.agreement
    since = agreement.signed_at or relationship.started_at
    until = relationship.ended_at or now
    expected = max(1, int((until - since) / NOMINAL_PERIOD[agreement.cadence]))
    return PairFigures(
        sessions_held=held,
        sessions_missed=statuses.count(SessionStatus.MISSED),
        cadence_adherence=round(min(1.0, held / expected), 3),
        goals_achieved=sum(1 for goal in relationship.goals if goal.achieved_at),
    )


@dataclass
class ProgramTotals:
    pairs: int = 0
    pairs_active: int = 0
    sessions_held: int = 0
    sessions_missed: int = 0
    pairs_at_risk: int = 0
    goals_achieved: int = 0
    adherence: list[float] = field(default_factory=list)

    def add(self, relationship: Relationship, figures: PairFigures) -> None:
        self.pairs += 1
        self.pairs_active += relationship.status == RelationshipStatus.ACTIVE
        self.pairs_at_risk += relationship.health.episode_open
        self.sessions_held += figures.sessions_held
        self.sessions_missed += figures.sessions_missed
        self.goals_achieved += figures.goals_achieved
        self.adherence.append(figures.cadence_adherence)

    @property
    def cadence_adherence(self) -> float | None:
        """The mean of the pairs' adherence; None without pairs."""
        return round(sum(self.adherence) / len(self.adherence), 3) if self.adherence else None
