"""Wiring for the notifications service: settings, runtime, stores, use cases, handlers, the
delivery and retention sweeps, and the HTTP app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from fastapi import FastAPI
from mentorship_schemas import Stream
from mentorship_schemas.events import NotificationChannel
from pydantic import Field, SecretStr
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from notifications import api, handlers, store
from notifications.channels import Channel, ChatWebhookChannel, EmailChannel
from notifications.domain.messages import SessionTiming
from notifications.domain.notification import Planning, RetryPolicy
from notifications.use_cases import DeliveryPolicy, NotificationsUseCases, NotifyPolicy


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    http_port: int = 8004

    # Email: off unless an SMTP host is configured.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_use_tls: bool = False  # implicit TLS (port 465)
    smtp_start_tls: bool = False  # STARTTLS after connecting (port 587)
    smtp_validate_certs: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_sender: str = "mentorship@example.com"

    # Chat: off unless a webhook URL is configured; requests are signed with the secret.
    chat_webhook_url: str | None = None
    chat_webhook_secret: SecretStr = SecretStr("development-webhook-secret")
    chat_timeout_seconds: float = Field(default=5.0, gt=0)

    # The delivery sweep and its retries.
    delivery_sweep_every_seconds: float = Field(default=2.0, gt=0)
    delivery_batch: int = Field(default=100, ge=1, le=10_000)
    delivery_max_attempts: int = Field(default=6, ge=1, le=50)
    delivery_backoff_seconds: float = Field(default=30.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)

    # When people hear about a session ahead of it, and when digests go out (local time).
    reminder_lead_hours: float = Field(default=24, ge=0)
    agenda_prompt_lead_hours: float = Field(default=4, ge=0)
    reminder_minimum_notice_minutes: float = Field(default=15, ge=0)
    digest_hour: int = Field(default=8, ge=0, le=23)

    # Retention of notifications (and their delivery records).
    notification_retention_days: float = Field(default=180, gt=0)
    retention_sweep_every_seconds: float = Field(default=3600, gt=0)


def _channels(settings: NotificationsSettings) -> dict[NotificationChannel, Channel]:
    channels: dict[NotificationChannel, Channel] = {}
    if settings.smtp_host:
        channels[NotificationChannel.EMAIL] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.smtp_use_tls,
            start_tls=settings.smtp_start_tls,
            validate_certs=settings.smtp_validate_certs,
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.chat_webhook_url:
        channels[NotificationChannel.CHAT] = ChatWebhookChannel(
            url=settings.chat_webhook_url,
            secret=settings.chat_webhook_secret.get_secret_value(),
            timeout=settings.chat_timeout_seconds,
        )
    return channels


@dataclass(frozen=True)
class NotificationsService:
    runtime: ServiceRuntime
    use_cases: NotificationsUseCases

    def http_app(self) -> FastAPI:
        app = self.runtime.create_app(
            title="Mentorship notifications",
            description="In-app feed, email and chat notifications for the people in the program, "
            "with per-person preferences and escalations to program admins.",
            routers=[api.router],
        )
        app.state.notifications = self.use_cases
        return app


def build_service(
    settings: NotificationsSettings | None = None,
    clock: Clock | None = None,
    channels: dict[NotificationChannel, Channel] | None = None,
) -> NotificationsService:
    """`channels` replaces the ones the settings configure (tests pass their own)."""
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime(settings, stream=Stream.NOTIFICATIONS, clock=clock)
    stores = store.mongo_stores(runtime.db, runtime.outbox_collection(store.NOTIFICATIONS), runtime)
    runtime.on_startup(lambda: store.prepare(runtime.db))
    outside = _channels(settings) if channels is None else channels
    use_cases = NotificationsUseCases.build(
        stores,
        now=runtime.clock.now,
        channels=outside,
        notify=NotifyPolicy(
            Planning(
                available=frozenset({NotificationChannel.IN_APP, *outside}),
                digest_send_at=time(settings.digest_hour),
            ),
            SessionTiming(
                reminder_lead=timedelta(hours=settings.reminder_lead_hours),
                agenda_prompt_lead=timedelta(hours=settings.agenda_prompt_lead_hours),
                minimum_notice=timedelta(minutes=settings.reminder_minimum_notice_minutes),
            ),
            organizer_email=settings.smtp_sender,
        ),
        delivery=DeliveryPolicy(
            RetryPolicy(
                settings.delivery_max_attempts,
                settings.delivery_backoff_seconds,
                settings.delivery_backoff_max_seconds,
            ),
            batch_size=settings.delivery_batch,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
        ),
        retention=timedelta(days=settings.notification_retention_days),
    )
    handlers.register(runtime.consumer, use_cases)
    runtime.sweep("deliveries", settings.delivery_sweep_every_seconds, use_cases.deliveries.sweep)
    runtime.sweep("notification-retention", settings.retention_sweep_every_seconds, use_cases.feed.forget_old)
    return NotificationsService(runtime, use_cases)


def build_runtime(
    settings: NotificationsSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    return build_service(settings, clock).runtime


def create_app(settings: NotificationsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_service(settings, clock).http_app()
