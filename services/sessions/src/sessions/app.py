"""Wiring for the sessions service: settings, runtime, handlers, sweeps and the HTTP app."""

from __future__ import annotations

from datetime import time, timedelta

from fastapi import FastAPI
from mentorship_schemas import Stream
from mentorship_schemas.events import Cadence
from pydantic import Field, model_validator
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from sessions import api, handlers, store
from sessions.domain.health import HealthPolicy
from sessions.domain.policy import SessionsPolicy
from sessions.domain.relationship import Relationship
from sessions.domain.working_hours import WorkingHours
from sessions.use_cases import SessionsContext


class SessionsSettings(ServiceSettings):
    service_name: str = "sessions"
    http_port: int = 8003
    # A pairing's handler reads the people, drafts (CPU), then writes: with a large batch in two
    # lanes, one lane drafts while the other's reads or writes are at the store. The flood of
    # PairCreated (20,000 records, the service alone, eight rounds alternated): 1,450 against
    # 1,263 records/s (medians; faster in six rounds of eight), the service busy 70-85% of the
    # time against 58-78%, at no more CPU per record.
    consumer_lanes: int = Field(default=2, ge=1, le=8)
    # The kick-off: no sooner than this after pairing, no later than `first_session_within_days`,
    # on a working day within everyone's working hours. With `kickoff_in_working_hours` false it
    # is exactly `first_session_after_seconds` after pairing (for runs that count in seconds).
    first_session_after_seconds: float = Field(default=2 * 24 * 3600, ge=0)
    first_session_within_days: float = Field(default=7, gt=0)
    kickoff_in_working_hours: bool = True
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    session_duration_seconds: float = Field(default=3600, gt=0)
    missed_grace_seconds: float = Field(default=3600, ge=0)
    missed_sweep_every_seconds: float = Field(default=30, gt=0)
    missed_sweep_batch: int = Field(default=1000, ge=1)
    # Width of the missed-session sweep's due-index partitions (must divide a day).
    session_due_partition_hours: int = Field(default=6, ge=1, le=24)
    # Cadence sessions kept scheduled ahead once the agreement is signed.
    cadence_horizon_sessions: int = Field(default=4, ge=1, le=52)
    default_cadence: Cadence = Cadence.MONTHLY
    default_session_local_time: time = time(10, 0)
    # Stagnation, measured against the pair's own cadence.
    stagnant_after_cadences: float = Field(default=2.0, gt=0)
    stagnant_missed_in_a_row: int = Field(default=2, ge=1)
    stagnant_progress_window_sessions: int = Field(default=3, ge=1)
    stagnant_learning_window: int = Field(default=4, ge=1)
    stagnant_learning_drop: float = Field(default=0.5, gt=0, le=1)
    stagnant_end_near_days: float = Field(default=14, ge=0)
    agreement_unsigned_after_days: float = Field(default=14, ge=0)

    @model_validator(mode="after")
    def _working_hours_are_a_span(self) -> SessionsSettings:
        if self.working_hours_end <= self.working_hours_start:
            raise ValueError("working_hours_end must come after working_hours_start")
        return self

    def policy(self) -> SessionsPolicy:
        return SessionsPolicy(
            first_session_after=timedelta(seconds=self.first_session_after_seconds),
            first_session_within=timedelta(days=self.first_session_within_days),
            kickoff_in_working_hours=self.kickoff_in_working_hours,
            working_hours=WorkingHours(self.working_hours_start, self.working_hours_end),
            duration=timedelta(seconds=self.session_duration_seconds),
            grace=timedelta(seconds=self.missed_grace_seconds),
            horizon_sessions=self.cadence_horizon_sessions,
            default_cadence=self.default_cadence,
            default_local_time=self.default_session_local_time,
            health=HealthPolicy(
                no_session_multiple=self.stagnant_after_cadences,
                missed_in_a_row=self.stagnant_missed_in_a_row,
                progress_window_sessions=self.stagnant_progress_window_sessions,
                learning_window=self.stagnant_learning_window,
                learning_drop=self.stagnant_learning_drop,
                end_near=timedelta(days=self.stagnant_end_near_days),
                unsigned_after=timedelta(days=self.agreement_unsigned_after_days),
            ),
        )


def build_runtime(settings: SessionsSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime, _ = build(settings, clock)
    return runtime


def build(
    settings: SessionsSettings | None = None, clock: Clock | None = None
) -> tuple[ServiceRuntime, SessionsContext]:
    """The runtime with its handlers and sweeps registered, and the use cases' context."""
    settings = settings or SessionsSettings()
    runtime = ServiceRuntime(settings, stream=Stream.SESSIONS, clock=clock)
    relationships = runtime.aggregates(store.RELATIONSHIPS, Relationship)
    notes = runtime.db[store.NOTES]
    runtime.on_startup(lambda: store.create_indexes(relationships.collection, notes))
    context = SessionsContext(
        relationships=relationships,
        due=store.due_indexes(runtime.db, timedelta(hours=settings.session_due_partition_hours)),
        notes=store.MongoNotes(notes),
        people=store.MongoPeople(runtime.db[store.PEOPLE]),
        queries=store.MongoRelationshipQueries(relationships.collection),
        policy=settings.policy(),
        now=runtime.clock.now,
    )
    schedule = handlers.SweepSchedule(settings.missed_sweep_every_seconds, settings.missed_sweep_batch)
    handlers.register(runtime, context, schedule)
    return runtime, context


def create_app(settings: SessionsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return http_app(*build(settings, clock))


def http_app(runtime: ServiceRuntime, context: SessionsContext) -> FastAPI:
    app = runtime.create_app(
        title="Mentorship sessions",
        description="Agreements, scheduled sessions, agendas, action items, goals and relationship health.",
        routers=[api.router],
    )
    api.install(app, context)
    return app
