"""Wiring for the notifications service: settings, runtime, handlers and the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from mentorship_schemas import NotificationSent
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from notifications import api, handlers, store


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    http_port: int = 8004


def build_runtime(
    settings: NotificationsSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    runtime = ServiceRuntime(settings or NotificationsSettings(), publishes=[NotificationSent], clock=clock)
    notifications = runtime.outbox_collection("notifications")
    runtime.on_startup(lambda: store.create_indexes(notifications))
    handlers.register(runtime)
    return runtime


def create_app(settings: NotificationsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_runtime(settings, clock).create_app(
        title="Mentorship notifications",
        description="In-app notifications for the people in the program.",
        routers=[api.router],
    )
