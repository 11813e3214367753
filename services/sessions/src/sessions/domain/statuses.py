"""The states a relationship and its parts can be in: one enum each, stored and shown by value."""

from __future__ import annotations

from enum import StrEnum


class RelationshipKind(StrEnum):
    PAIR = "pair"
    CIRCLE = "circle"


class RelationshipStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class SessionKind(StrEnum):
    KICKOFF = "kickoff"  # scheduled on pairing, to agree on the agreement
    CADENCE = "cadence"  # one occurrence of the signed agreement's series
    EXTRA = "extra"  # scheduled by the members


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    MISSED = "missed"
    CANCELLED = "cancelled"


class ActionItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class HealthChange(StrEnum):
    """What an assessment does to the pair's stagnation episode."""

    STAGNANT = "stagnant"  # an episode opens
    RECOVERED = "recovered"  # the open episode closes
