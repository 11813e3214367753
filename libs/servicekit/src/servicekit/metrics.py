"""Prometheus metrics served at /metrics. Names follow `mentorship_<what>_<unit>`."""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import Counter, Histogram

EVENTS_PUBLISHED = Counter("mentorship_events_published_total", "Events published from the outbox", ["type"])
EVENTS_CONSUMED = Counter(
    "mentorship_events_consumed_total",
    "Records handled by consumers, by outcome (processed, duplicate, ignored, dead_lettered)",
    ["type", "outcome"],
)
CONSUMER_RETRIES = Counter(
    "mentorship_consumer_retries_total", "Transient handler failures that were retried", ["type"]
)
OUTBOX_FAILURES = Counter("mentorship_outbox_relay_failures_total", "Failed outbox relay passes")
PUBLISHED_EFFECT_FAILURES = Counter(
    "mentorship_published_effect_failures_total",
    "Own published events whose effect on the service's data failed (logged, not retried)",
    ["type"],
)
HANDLER_SECONDS = Histogram("mentorship_event_handler_seconds", "Time spent handling one event", ["type"])
SWEEP_EMITTED = Counter("mentorship_sweep_signals_total", "Signals emitted by time-driven sweeps", ["sweep"])


@functools.lru_cache(maxsize=1024)
def consumed(event_type: str, outcome: str) -> Any:
    """EVENTS_CONSUMED's child for these labels, looked up once (`labels` takes a lock and builds
    a key on every call: a few microseconds a record)."""
    return EVENTS_CONSUMED.labels(type=event_type, outcome=outcome)


@functools.lru_cache(maxsize=1024)
def handler_seconds(event_type: str) -> Any:
    """HANDLER_SECONDS's child for this type, looked up once."""
    return HANDLER_SECONDS.labels(type=event_type)
