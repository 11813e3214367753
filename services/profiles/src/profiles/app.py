"""Wiring for the profiles service: settings, runtime, handlers and the HTTP app."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from mentorship_schemas import (
    Stream,
)
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from profiles import api, handlers, store
from profiles.domain.profile import DEFAULT_TAXONOMY, Taxonomy


class ProfilesSettings(ServiceSettings):
    service_name: str = "profiles"
    http_port: int = 8001
    # A JSON array of skill names; the built-in taxonomy when unset. Other skills stay free text.
    skill_taxonomy_file: str | None = None

    def taxonomy(self) -> Taxonomy:
        if self.skill_taxonomy_file:
            return Taxonomy(json.loads(Path(self.skill_taxonomy_file).read_text()))
        return Taxonomy(DEFAULT_TAXONOMY)


def build_runtime(settings: ProfilesSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(
        settings or ProfilesSettings(),
        stream=Stream.PROFILES,
        clock=clock,
    )  # fmt: skip
    people = runtime.outbox_collection("people")
    runtime.on_startup(lambda: store.create_indexes(people))
    handlers.register(runtime)
    return runtime


def create_app(settings: ProfilesSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ProfilesSettings()
    app = build_runtime(settings, clock).create_app(
        title="Mentorship profiles",
        description="People in the program: profiles, skills, mentor availability, HR import, erasure.",
        routers=[api.router],
    )
    app.state.taxonomy = settings.taxonomy()
    return app
