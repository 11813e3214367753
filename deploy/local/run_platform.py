"""`make run`: start local Kafka, the store (mongo-java-server, H2 file backend) and Zipkin (the trace
UI) unless they run already, then the four services exporting their traces to Zipkin through the
standard OTEL_* settings; print where everything is and development tokens, and stop it all cleanly
on Ctrl-C. Set OTEL_TRACES_EXPORTER (or an OTLP endpoint) yourself to export elsewhere instead."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

import localstack
from localstack.zipkin import ZipkinServer
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token
from servicekit.kafka import ensure_topics

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("MENTORSHIP_STATE_DIR", REPO / ".local"))


def dev_secret() -> str:
    path = STATE / "dev-hs256-secret"
    if not path.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _exports_elsewhere() -> bool:
    """The developer chose an exporter (or an OTLP endpoint): leave their choice alone."""
    return any(
        os.environ.get(name)
        for name in (
            "OTEL_TRACES_EXPORTER",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        )
    )


def _zipkin_env(zipkin: ZipkinServer) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "zipkin",
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT": zipkin.spans_endpoint,
        # Spans show up in the UI within a second of the request.
        "OTEL_BSP_SCHEDULE_DELAY": "500",
    }


def main() -> int:
    started = time.monotonic()
    kafka = localstack.KafkaServer(STATE / "kafka", port=int(os.environ.get("KAFKA_PORT", 9092)))
    store = localstack.MongoStore(
        STATE / "store", port=int(os.environ.get("MONGO_PORT", 27017)), persistent=True, long_running=True
    )
    servers: list[localstack.ManagedServer] = [kafka, store]
    zipkin: ZipkinServer | None = None
    if not _exports_elsewhere():
        zipkin = ZipkinServer(STATE / "zipkin", port=int(os.environ.get("ZIPKIN_PORT", 9411)))
        servers.append(zipkin)
    owned = []
    try:
        for server in servers:
            if not server.is_running():
                server.start()
                owned.append(server)
    except (localstack.MissingTool, localstack.StartupError, localstack.InstallError) as error:
        print(f"error: {error}", file=sys.stderr)
        for server in owned:
            server.stop()
        return 2
    asyncio.run(ensure_topics(kafka.bootstrap_servers))

    secret = dev_secret()
    fleet = ServiceFleet(
        env={
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "MONGODB_URL": store.url,
            "AUTH_ALLOW_DEV_HS256": "true",
            "AUTH_DEV_HS256_SECRET": secret,
            **(_zipkin_env(zipkin) if zipkin is not None else {}),
            # One platform clock, moved forward with `make clock ADVANCE=3d` (development only).
            "CLOCK": "shared",
        },
        log_dir=STATE / "logs",
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        fleet.start()
        elapsed = time.monotonic() - started
        print(
            f"\nMentorship platform is up in {elapsed:.1f}s  "
            f"(Kafka {kafka.bootstrap_servers}, MongoDB {store.url})\n"
        )
        for service in fleet.services.values():
            print(
                f"  {service.name:<14} {service.url}   OpenAPI {service.url}/docs   "
                f"AsyncAPI {service.url}/docs/asyncapi"
            )
        if zipkin is not None:
            print(f"\n  traces (Zipkin) {zipkin.ui_url}   API {zipkin.url}/api/v2/traces")
        employee = issue_dev_token(secret, sub="alice", org="demo", roles=["employee"])
        admin = issue_dev_token(
            secret, sub="pat", org="demo", roles=["employee", "program_admin", "hr_admin"]
        )
        print(f"\n  logs: {fleet.log_dir}\n\nDevelopment tokens (org 'demo', valid 12 h):")
        print(f"  employee alice:  export TOKEN={employee}")
        print(f"  admin pat:       export ADMIN_TOKEN={admin}")
        print(
            "\nTry (alice registers herself, then reads her profile; the README walks through a programme):\n"
            '  curl -X POST http://127.0.0.1:8001/profiles -H "Authorization: Bearer $TOKEN" '
            "-H 'content-type: application/json' \\\n"
            """       -d '{"display_name":"Alice","email":"alice@example.com","roles":["mentee"]}'\n"""
            '  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8001/profiles/alice\n'
            "A token for anyone: make -s token PERSON=bob ROLES=employee,program_admin\n"
            "Move the shared platform clock forward: make clock ADVANCE=3d\n"
            "Ctrl-C stops everything."
        )
        while not stop.is_set():
            for service in fleet.services.values():
                if service.process is not None and service.process.poll() is not None:
                    print(f"{service.name} exited; log tail:\n{service.log_tail()}", file=sys.stderr)
                    stop.set()
            stop.wait(1.0)
    except (RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("\nstopping services ...")
        fleet.stop()
        for server in reversed(owned):
            print(f"stopping {type(server).__name__} ...")
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
