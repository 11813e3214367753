"""Wiring for the profiles service: settings, runtime, the people store, use cases, handlers and
the HTTP app."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from mentorship_schemas import Stream
from pydantic import Field
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from profiles import api, handlers, store
from profiles.domain.person import Person
from profiles.domain.profile import DEFAULT_TAXONOMY, Taxonomy
from profiles.use_cases import Profiles


class ProfilesSettings(ServiceSettings):
    service_name: str = "profiles"
    http_port: int = 8001
    # A JSON array of skill names; the built-in taxonomy when unset. Other skills stay free text.
    skill_taxonomy_file: str | None = None
    # How often erased profiles whose ProfileErased is published give way to an id-free mark.
    seal_erasures_every_seconds: float = Field(default=30.0, gt=0)

    def taxonomy(self) -> Taxonomy:
        if self.skill_taxonomy_file:
            return Taxonomy(json.loads(Path(self.skill_taxonomy_file).read_text()))
        return Taxonomy(DEFAULT_TAXONOMY)


def build(
    settings: ProfilesSettings | None = None, clock: Clock | None = None
) -> tuple[ServiceRuntime, Profiles]:
    """The runtime with its handlers subscribed, and the use cases the HTTP routes call."""
    settings = settings or ProfilesSettings()
    runtime = ServiceRuntime(settings, stream=Stream.PROFILES, clock=clock)
    people = store.PeopleStore(runtime.outbox_collection(store.PEOPLE), Person, runtime)
    runtime.on_startup(lambda: store.create_indexes(people.collection))
    profiles = Profiles(people, settings.taxonomy(), runtime.now)
    handlers.subscribe(runtime.consumer, profiles)
    runtime.sweep("seal-erasures", settings.seal_erasures_every_seconds, _sealing(people))
    return runtime, profiles


def _sealing(people: store.PeopleStore) -> Callable[[datetime], Awaitable[int]]:
    async def seal(now: datetime) -> int:
        await people.seal_erasures()
        return 0  # it publishes nothing

    return seal


def build_runtime(settings: ProfilesSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    return build(settings, clock)[0]


def create_app(settings: ProfilesSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime, profiles = build(settings, clock)
    app = runtime.create_app(
        title="Mentorship profiles",
        description="People in the program: profiles, skills, mentor availability, HR import, erasure.",
        routers=[api.router],
    )
    app.state.profiles = profiles
    api.install_error_answers(app)
    return app
