"""The topic registry: one versioned topic per service stream, plus its dead-letter topic."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stream(StrEnum):
    """A service's event stream; also the `<service>` part of every `ce_type` it publishes."""

    PROFILES = "profiles"
    MATCHING = "matching"
    SESSIONS = "sessions"
    NOTIFICATIONS = "notifications"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    # Keyed by aggregate id, so one aggregate's events keep their order within a partition.
    retention_ms: int = 7 * 24 * 3600 * 1000

    @property
    def dlq(self) -> str:
        return dlq_topic(self.name)


# Topics for sensitive data (consented inclusion attributes): only named consumers may read them,
# enforced by Kafka ACLs in production; never mirrored into general topics, logs or traces.
RESTRICTED_TOPICS: dict[Stream, TopicSpec] = {
    Stream.PROFILES: TopicSpec("mentorship.profiles.restricted.v1", partitions=3),
}


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


TOPICS: dict[Stream, TopicSpec] = {
    Stream.PROFILES: TopicSpec("mentorship.profiles.v1", partitions=6),
    Stream.MATCHING: TopicSpec("mentorship.matching.v1", partitions=6),
    Stream.SESSIONS: TopicSpec("mentorship.sessions.v1", partitions=6),
    Stream.NOTIFICATIONS: TopicSpec("mentorship.notifications.v1", partitions=3),
}


def all_topic_names() -> list[tuple[str, int]]:
    """Every topic the platform needs, with its partition count (DLQs get one partition)."""
    names: list[tuple[str, int]] = []
    for spec in [*TOPICS.values(), *RESTRICTED_TOPICS.values()]:
        names.append((spec.name, spec.partitions))
        names.append((spec.dlq, 1))
    return names
