"""Run a service's FastAPI app under uvicorn (`python -m <service>`)."""

from __future__ import annotations

import gc
import logging
import os

import uvicorn
from fastapi import FastAPI

from servicekit.settings import ServiceSettings

GC_THRESHOLDS = (50_000, 20, 20)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {settings.service_name} %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka and pymongo are chatty at INFO about routine connection churn.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # The cyclic garbage collector, at Python's defaults (a collection every 700 allocations, and
    # the oldest generation walked again and again), took a fifth to a third of a busy service's
    # CPU (measured on 20,000 records: notifications 19.3 s -> 13.3 s, sessions 14.9 s -> 12.1 s,
    # profiles 7.2 s -> 6.2 s). What the imports built is frozen out of its walks, and it runs
    # less often: consumer batches allocate in bursts and free nearly all of it by reference count.
    #
    # glibc's malloc stays. Debian's jemalloc, mimalloc and tcmalloc were tried in its place
    # (LD_PRELOAD) on matching's flood with two replicas. In 8 alternated rounds against glibc:
    #   - jemalloc: records/s x0.995, CPU per record x1.027;
    #   - mimalloc: records/s x1.025, CPU per record x0.978; in 12 rounds more, x1.022 and x0.977
    #     (0.91-1.17 round by round over the 20: about 2%, within the noise).
    # In 4 rounds, tcmalloc: records/s x1.014, CPU per record x0.971. None was clearly faster, and
    # each would be one more system package for every machine and image.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
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
