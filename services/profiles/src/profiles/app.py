"""Wiring for the profiles service: settings, runtime, handlers and the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from mentorship_schemas import MentorAvailable, MentorUnavailable, ProfileRegistered
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from profiles import api, handlers, store


class ProfilesSettings(ServiceSettings):
    service_name: str = "profiles"
    http_port: int = 8001


def build_runtime(settings: ProfilesSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(
        settings or ProfilesSettings(),
        publishes=[ProfileRegistered, MentorAvailable, MentorUnavailable],
        clock=clock,
    )
    people = runtime.outbox_collection("people")
    runtime.on_startup(lambda: store.create_indexes(people))
    handlers.register(runtime)
    return runtime


def create_app(settings: ProfilesSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_runtime(settings, clock).create_app(
        title="Mentorship profiles",
        description="People in the program: profiles, skills and mentor availability.",
        routers=[api.router],
    )
