"""Run a service's FastAPI app under uvicorn (`python -m <service>`)."""

from __future__ import annotations

import logging
import os

import uvicorn
from fastapi import FastAPI

from servicekit.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {settings.service_name} %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka and pymongo are chatty at INFO about routine connection churn.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=level.lower(),
        access_log=False,
        # Longer than clients keep an idle connection (httpx 5 s, browsers and proxies up to 60 s):
        # the client closes first, so a request is never sent on a connection the server is closing
        # (with both at 5 s, a bench client saw "connection closed" on a few POSTs).
        timeout_keep_alive=75,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
