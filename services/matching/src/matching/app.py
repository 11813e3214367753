"""Wiring for the matching service: settings, runtime, handlers, sweeps and the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from mentorship_schemas import (
    Stream,
)
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from matching import api, api_requests, circle_runs, flows, handlers, programs, store
from matching.cohort_runs import MATCH_RUN_ITEMS, MATCH_RUNS


class MatchingSettings(ServiceSettings):
    service_name: str = "matching"
    http_port: int = 8002
    # Requests past their deadline and pairs past their end date are found by this sweep.
    matching_sweep_seconds: float = 30.0


def build_runtime(settings: MatchingSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    settings = settings or MatchingSettings()
    runtime = ServiceRuntime(
        settings,
        stream=Stream.MATCHING,
        clock=clock,
    )  # fmt: skip
    candidates = runtime.outbox_collection("candidates")  # mentees carry their pair and request events
    runtime.outbox_collection(MATCH_RUNS)  # each audited run carries its MatchRunCompleted
    runtime.outbox_collection(circle_runs.CIRCLES)  # each circle carries its CircleFormed
    runtime.on_startup(
        lambda: store.create_indexes(candidates, runtime.db[programs.PROGRAMS], runtime.db[MATCH_RUN_ITEMS])
    )
    handlers.register(runtime)
    runtime.sweep(
        "requests-and-end-dates", settings.matching_sweep_seconds, lambda now: flows.sweep(runtime, now)
    )
    return runtime


def create_app(settings: MatchingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_runtime(settings, clock).create_app(
        title="Mentorship matching",
        description="Programs, suggestions, requests, proposals, pairs, circles and cohort runs.",
        routers=[programs.router, api.router, api.cohort_runs, api_requests.router, circle_runs.router],
    )
