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
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
