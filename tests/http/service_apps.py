"""The four services' HTTP apps built in-process with test settings, for the checks every app must
pass alike (tokens, traces, errors, docs); and a real uvicorn server for those that need one."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from localstack import free_port
from servicekit.auth import issue_dev_token
from servicekit.settings import ServiceSettings

SERVICES = ("profiles", "matching", "sessions", "notifications")
SECRET = "http-surface-tests-development-secret-0123456789"
ALL_ROLES = ["employee", "program_admin", "hr_admin"]
# Nothing listens here: apps built for checks that never reach the store or the broker.
NOWHERE: dict[str, Any] = {
    "kafka_bootstrap_servers": "127.0.0.1:9",
    "mongodb_url": "mongodb://127.0.0.1:9/",
    "mongodb_timeout_ms": 200,
}


def settings_for(service: str, **overrides: Any) -> ServiceSettings:
    module = importlib.import_module(f"{service}.app")
    settings_class: type[ServiceSettings] = getattr(module, f"{service.capitalize()}Settings")
    values: dict[str, Any] = {
        **NOWHERE,
        "auth_allow_dev_hs256": True,
        "auth_dev_hs256_secret": SECRET,
        **overrides,
    }
    return settings_class(**values)


def create_app(service: str, settings: ServiceSettings) -> FastAPI:
    app: FastAPI = importlib.import_module(f"{service}.app").create_app(settings)
    return app


def bearer(sub: str, org: str, roles: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub=sub, org=org, roles=roles or ALL_ROLES)}"}


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


@contextmanager
def uvicorn_server(app: FastAPI, *, lifespan: str = "off") -> Iterator[str]:
    """`app` under a real uvicorn server (its own thread and event loop); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("uvicorn did not start")
        time.sleep(0.02)  # polling the server's own started flag, with a deadline
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
