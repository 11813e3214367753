"""What matching keeps of each pair to learn from how it went: a record per pair fed by events (its own
PairCreated and PairEnded, and sessions' SessionCompleted, SessionMissed, GoalAchieved, AgreementSigned,
RelationshipStagnant and RelationshipRecovered), turned into a `PairOutcome` (domain/outcomes.py).

Every change is idempotent and commutative, as events of different topics arrive in any order and may
be redelivered: single-valued facts are set, counted facts are sets of the ids that caused them (a
session, a goal, an episode), and the longest run of missed sessions is a maximum.

Not carried by any event (so not learned from): the "I learned something" and "useful" answers of
session feedback (sessions keeps them), and the goals a pair set (only achieved goals are announced).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mentorship_schemas.events import Cadence
from pydantic import BaseModel

from matching.domain.outcomes import PairEnding, PairOutcome

CADENCE_DAYS = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 30, Cadence.QUARTERLY: 91}


class Counted(StrEnum):
    """The facts a pair accumulates, each a set of the ids that caused it."""

    SESSIONS_HELD = "sessions_held"
    SESSIONS_MISSED = "sessions_missed"
    GOALS_ACHIEVED = "goals_achieved"
    STAGNANT_EPISODES = "stagnant_episodes"
    RECOVERED_EPISODES = "recovered_episodes"


@dataclass(frozen=True)
class OutcomeChange:
    """One event's effect on a pair's record (applied with an upsert: the record may not exist yet)."""

    participants: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)  # single-valued facts, set
    counted: tuple[Counted, str] | None = None  # (which set, the id to add)
    highest: Mapping[str, int] = field(default_factory=dict)  # kept at their maximum


class PairOutcomeRecord(BaseModel):
    """One pair's record as stored (`_id` = org:pair)."""

    org_id: str
    pair_id: str
    participant_ids: list[str] = []
    program_id: str | None = None
    started_at: datetime | None = None
    components: dict[str, float] | None = None
    cadence_days: int | None = None
    ending: PairEnding | None = None
    ended_at: datetime | None = None
    sessions_held: list[str] = []
    sessions_missed: list[str] = []
    max_missed_in_a_row: int = 0
    goals_achieved: list[str] = []
    stagnant_episodes: list[str] = []
    recovered_episodes: list[str] = []

    def outcome(self, default_cadence_days: int = 14) -> PairOutcome | None:
        """The pair as the labelling rule reads it; None while matching does not know when it started,
        in which program, or on what components it was matched (its PairCreated is not handled yet)."""
        if self.program_id is None or self.started_at is None or self.components is None:
            return None
        ended = self.ending is not None and self.ended_at is not None
        achieved = len(self.goals_achieved)
        return PairOutcome(
            pair_id=self.pair_id,
            org_id=self.org_id,
            program_id=self.program_id,
            started_at=self.started_at,
            components=dict(self.components),
            cadence_days=self.cadence_days or default_cadence_days,
            ended_at=self.ended_at if ended else None,
            ending=self.ending if ended else None,
            sessions_held=len(self.sessions_held),
            sessions_missed=len(self.sessions_missed),
            # Only achieved goals are announced: a pair that achieved some counts them as its goals.
            goals_set=achieved,
            goals_achieved=achieved,
            stagnant_episodes=len(self.stagnant_episodes),
        )


def apply_change(document: dict[str, Any], change: OutcomeChange) -> dict[str, Any]:
    """The record after `change` (what the store's upsert does, for the in-memory twin)."""
    after = copy.deepcopy(document)
    participants = after.setdefault("participant_ids", [])
    participants.extend(p for p in change.participants if p not in participants)
    after.update(change.fields)
    if change.counted is not None:
        fact, cause = change.counted
        causes = after.setdefault(fact.value, [])
        if cause not in causes:
            causes.append(cause)
    for name, value in change.highest.items():
        after[name] = max(int(after.get(name, value)), value)
    return after
