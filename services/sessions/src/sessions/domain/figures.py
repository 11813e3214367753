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
    sessions_due: int  # what the cadence and the calendar expected by now (or by the pair's end)
    cadence_adherence: float | None  # held over due, at most 1; None while nothing was due yet
    goals_achieved: int


def sessions_due(relationship: Relationship, now: datetime) -> int:
    """The sessions expected by now: the whole cadence periods since the pair started (or signed),
    and never fewer than the sessions that were to start by then (the kick-off included)."""
    until = relationship.ended_at or now
    since = relationship.agreement.signed_at or relationship.started_at
    periods = max(0, int((until - since) / NOMINAL_PERIOD[relationship.agreement.cadence]))
    started = sum(
        1
        for session in relationship.sessions
        if session.status != SessionStatus.CANCELLED and session.starts_at <= until
    )
    return max(periods, started)


def pair_figures(relationship: Relationship, now: datetime) -> PairFigures:
    statuses = [session.status for session in relationship.sessions]
    held = statuses.count(SessionStatus.HELD)
    due = sessions_due(relationship, now)
    return PairFigures(
        sessions_held=held,
        sessions_missed=statuses.count(SessionStatus.MISSED),
        sessions_due=due,
        cadence_adherence=round(min(1.0, held / due), 3) if due else None,
        goals_achieved=sum(1 for goal in relationship.goals if goal.achieved_at),
    )


def at_risk(relationship: Relationship) -> bool:
    """Stagnating and still going: an ended pair is no longer at risk."""
    return relationship.status == RelationshipStatus.ACTIVE and relationship.health.episode_open


@dataclass
class ProgramTotals:
    pairs: int = 0
    pairs_active: int = 0
    sessions_held: int = 0
    sessions_missed: int = 0
    pairs_at_risk: int = 0
    goals_achieved: int = 0
    adherence: list[float] = field(default_factory=list)  # of the pairs that had sessions due

    def add(self, relationship: Relationship, figures: PairFigures) -> None:
        self.pairs += 1
        self.pairs_active += relationship.status == RelationshipStatus.ACTIVE
        self.pairs_at_risk += at_risk(relationship)
        self.sessions_held += figures.sessions_held
        self.sessions_missed += figures.sessions_missed
        self.goals_achieved += figures.goals_achieved
        if figures.cadence_adherence is not None:
            self.adherence.append(figures.cadence_adherence)

    @property
    def cadence_adherence(self) -> float | None:
        """The mean of the pairs' adherence; None while no pair had a session due."""
        return round(sum(self.adherence) / len(self.adherence), 3) if self.adherence else None
