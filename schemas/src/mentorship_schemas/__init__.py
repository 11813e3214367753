"""The platform's event contract: the one source of truth other teams build on.

Import event types from here; JSON Schema and AsyncAPI files are generated from these models.
"""

from mentorship_schemas.envelope import CloudEvent, ce_type_of, parse_ce_type
from mentorship_schemas.events import (
    ALL_EVENTS,
    EVENTS_BY_TYPE,
    Event,
    MentorAvailable,
    MentorUnavailable,
    NotificationSent,
    PairCreated,
    ProfileRegistered,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.topics import TOPICS, Stream, TopicSpec, dlq_topic

__all__ = [
    "ALL_EVENTS",
    "EVENTS_BY_TYPE",
    "TOPICS",
    "CloudEvent",
    "Event",
    "MentorAvailable",
    "MentorUnavailable",
    "NotificationSent",
    "PairCreated",
    "ProfileRegistered",
    "SessionMissed",
    "SessionScheduled",
    "Stream",
    "TopicSpec",
    "ce_type_of",
    "dlq_topic",
    "parse_ce_type",
]
