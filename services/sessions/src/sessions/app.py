"""Wiring for the sessions service: settings, runtime, handlers, sweep and the HTTP app."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from mentorship_schemas import SessionMissed, SessionScheduled
from pydantic import Field
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from sessions import api, handlers, store


class SessionsSettings(ServiceSettings):
    service_name: str = "sessions"
    http_port: int = 8003
    first_session_after_seconds: float = Field(default=7 * 24 * 3600, ge=0)
    session_duration_seconds: float = Field(default=3600, gt=0)
    missed_grace_seconds: float = Field(default=3600, ge=0)
    missed_sweep_every_seconds: float = Field(default=30, gt=0)
    missed_sweep_batch: int = Field(default=1000, ge=1)


def build_runtime(settings: SessionsSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    settings = settings or SessionsSettings()
    runtime = ServiceRuntime(settings, publishes=[SessionScheduled, SessionMissed], clock=clock)
    sessions = runtime.outbox_collection("sessions")
    relationships = runtime.db["relationships"]
    runtime.on_startup(lambda: store.create_indexes(sessions, relationships))
    handlers.register(
        runtime,
        first_session_after=timedelta(seconds=settings.first_session_after_seconds),
        duration=timedelta(seconds=settings.session_duration_seconds),
        grace=timedelta(seconds=settings.missed_grace_seconds),
        sweep_every=settings.missed_sweep_every_seconds,
        sweep_batch=settings.missed_sweep_batch,
    )
    return runtime


def create_app(settings: SessionsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_runtime(settings, clock).create_app(
        title="Mentorship sessions",
        description="Agreements, scheduled sessions and relationship health.",
        routers=[api.router],
    )
