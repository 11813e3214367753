"""Wiring for the matching service: settings, runtime, the use cases' context on its stores, the
handlers table, the sweep and the HTTP app."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI
from mentorship_schemas import Stream
from pydantic import Field
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from matching import handlers
from matching.api import ROUTERS
from matching.api.deps import on_matching_error
from matching.store import matching_of
from matching.store_learning import with_learning
from matching.use_cases.context import Matching, MatchingError
from matching.use_cases.continuous import match_waiting_orgs
from matching.use_cases.sweep import sweep


class MatchingSettings(ServiceSettings):
    service_name: str = "matching"
    http_port: int = 8002
    # Requests past their deadline and pairs past their end date are found by this sweep.
    matching_sweep_seconds: float = 30.0
    # Continuous matching runs once for the changes of this window in one org. Every run goes over
    # the whole org's mentors, so a window of two consumer batches (fetches are held up to 0.1 s)
    # spends less on runs and pairs sooner under a steady flow: `make bench`'s journey, three runs
    # each, p50 0.55-0.63 s and p99 1.16-1.40 s to PairCreated at 0.2 s against 0.76-0.87 s and
    # 1.50-2.02 s at 0.05 s; at 0.4 s each run waits longer than it saves (p99 1.73 s). Matching's
    # flood with two replicas, 6 alternated rounds: x0.934 records/s at 0.5 s, x0.986 at 0.1 s.
    matching_coalesce_seconds: float = Field(default=0.2, ge=0, le=5)
    # How often every org where someone waits is matched again (besides after each change).
    matching_waiting_sweep_seconds: float = Field(default=60.0, gt=0)
    # The in-memory view of each org follows this process's writes and is re-read this often (for
    # other replicas' writes).
    matching_view_resync_seconds: float = Field(default=30.0, gt=0)
    # The goals component from sentence embeddings (the model loads as the service starts).
    matching_semantic_goals: bool = True
    # The engine's runs execute in a process of their own, so their CPU seconds never hold up the
    # consumer and the API (False: in threads of the service, as the in-process tests do). In
    # threads, matching's flood with two replicas ran x0.923 records/s at x1.063 CPU per record
    # (6 alternated rounds).
    matching_engine_process: bool = True


def build_runtime(settings: MatchingSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    return _wired(settings, clock)[0]


def _wired(settings: MatchingSettings | None, clock: Clock | None) -> tuple[ServiceRuntime, Matching]:
    settings = settings or MatchingSettings()
    runtime = ServiceRuntime(settings, stream=Stream.MATCHING, clock=clock)
    matching = matching_of(
        runtime,
        coalesce_seconds=settings.matching_coalesce_seconds,
        resync_seconds=settings.matching_view_resync_seconds,
        engine_process=settings.matching_engine_process,
    )
    matching = with_learning(matching, runtime, semantic=settings.matching_semantic_goals)
    # The consumer's records are committed once their facts are stored; continuous matching runs
    # behind them, and a sweep (at start, then every matching_waiting_sweep_seconds) runs it where
    # someone waits, for the runs a stop or a crash cut short.
    behind = dataclasses.replace(matching, behind=True)
    handlers.subscribe(runtime.consumer, runtime.relay, behind)
    runtime.sweep("requests-and-end-dates", settings.matching_sweep_seconds, lambda now: sweep(matching, now))
    runtime.sweep(
        "waiting-seats", settings.matching_waiting_sweep_seconds, lambda now: match_waiting_orgs(behind)
    )
    return runtime, matching


def create_app(settings: MatchingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime, matching = _wired(settings, clock)
    app = runtime.create_app(
        title="Mentorship matching",
        description="Programs, suggestions, requests, proposals, pairs, circles and cohort runs.",
        routers=ROUTERS,
    )
    app.state.matching = matching
    app.add_exception_handler(MatchingError, on_matching_error)
    return app
