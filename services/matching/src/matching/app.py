"""Wiring for the matching service: settings, runtime, handlers and the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from mentorship_schemas import MatchRunCompleted, PairCreated
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from matching import api, handlers, store
from matching.cohort_runs import MATCH_RUNS


class MatchingSettings(ServiceSettings):
    service_name: str = "matching"
    http_port: int = 8002


def build_runtime(settings: MatchingSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(
        settings or MatchingSettings(), publishes=[PairCreated, MatchRunCompleted], clock=clock
    )
    candidates = runtime.outbox_collection("candidates")
    runtime.outbox_collection(MATCH_RUNS)  # each audited run carries its MatchRunCompleted
    runtime.on_startup(lambda: store.create_indexes(candidates))
    handlers.register(runtime)
    return runtime


def create_app(settings: MatchingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_runtime(settings, clock).create_app(
        title="Mentorship matching",
        description="Programs, candidates and pairs.",
        routers=[api.router, api.cohort_runs],
    )
