"""What every end-to-end test shares: the environment that runs the services as real processes on
the test's Kafka and store, with seconds instead of days, and free ports for them."""

from __future__ import annotations

import uuid
from pathlib import Path

from localstack import free_port
from service_fleet import SERVICES, ServiceFleet

from tests.conftest import Infra

SECRET = "end-to-end-development-secret-0123456789"


def fleet_env(infra: Infra, database_prefix: str, **overrides: str) -> dict[str, str]:
    """Settings for services under test: their own databases, the development token secret, and
        time-driven settings in seconds so a session can pass unattended during a test, and the shared
    platform clock (`/dev/clock`) for tests that move time instead."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "MONGODB_URL": infra.mongodb_url,
        "MONGODB_DATABASE_PREFIX": database_prefix,
        "AUTH_ALLOW_DEV_HS256": "true",
        "AUTH_DEV_HS256_SECRET": SECRET,
        "CLOCK": "shared",
        "CLOCK_REFRESH_SECONDS": "0.2",
        "FIRST_SESSION_AFTER_SECONDS": "1",
        "KICKOFF_IN_WORKING_HOURS": "false",  # the kick-off exactly FIRST_SESSION_AFTER_SECONDS on
        "SESSION_DURATION_SECONDS": "1",
        "MISSED_GRACE_SECONDS": "1",
        "MISSED_SWEEP_EVERY_SECONDS": "0.5",
        "OUTBOX_POLL_SECONDS": "0.2",
        "OTEL_TRACES_EXPORTER": "none",
        **overrides,
    }


def new_database_prefix(label: str) -> str:
    return f"e2e_{label}_{uuid.uuid4().hex[:6]}_"


def fleet(env: dict[str, str], log_dir: Path, services: tuple[str, ...] = tuple(SERVICES)) -> ServiceFleet:
    """A fleet of `services` on free ports (not started)."""
    ports = {name: free_port() for name in services}
    return ServiceFleet(env=env, log_dir=log_dir, ports=ports, new_port=free_port)
