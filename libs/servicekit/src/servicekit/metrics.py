"""Prometheus metrics served at /metrics. Names follow `mentorship_<what>_<unit>`."""

from __future__ import annotations

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
HANDLER_SECONDS = Histogram("mentorship_event_handler_seconds", "Time spent handling one event", ["type"])
SWEEP_EMITTED = Counter("mentorship_sweep_signals_total", "Signals emitted by time-driven sweeps", ["sweep"])
