"""Where the matching engine's runs execute. A run scores every waiting mentee against every mentor
and solves a flow: seconds of CPU for thousands of people. In a thread of the service, its Python
parts take turns with the event loop for the interpreter lock, and the consumer, the HTTP API and
the previous run's offers all wait; in a process of its own (`EngineProcess`, what the service
uses) they do not. Shipping a cohort to the process and its pairs back costs milliseconds of
pickling on both sides, more than a small run takes: runs that score few pairs (a mentee or two
against the org's mentors, as registrations trickle in) stay in a thread. The work sent must be
a module-level function of pure domain code whose arguments and result pickle (profiles,
policies, explanations: plain values)."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
# Imported as the engine process starts, so that its first run does not wait for them.
_PRELOAD = "matching.domain.cohort_run"
# How often the engine process checks that the service that started it still runs.
_WATCH_SECONDS = 0.5
# mallopt's parameters (glibc's malloc.h): the largest mmap threshold it takes on 64 bits, and a trim
# threshold no run's arrays reach.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
_TRIM_THRESHOLD = 1 << 30
# Below this many scored pairs a run stays in a thread (measured on 2 cores: shipping 5,000
# mentors' profiles costs about 10 ms; scoring 250,000 pairs and solving, about 50 ms).
IN_PROCESS_FROM_PAIRS = 250_000


class EngineInThreads:
    """Runs in a worker thread of this process (the in-memory tests, or a service told so)."""

    async def call(self, scored_pairs: int, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`work(*args, **kwargs)`, a run that scores `scored_pairs` mentee-mentor pairs."""
        return await asyncio.to_thread(work, *args, **kwargs)

    async def start(self) -> None:
        return None

    async def close(self, timeout: float = 10.0) -> None:
        return None


class EngineProcess:
    """Runs in one process of its own, a child of the service started afresh (spawned: no thread,
    lock or socket of the service is inherited). It ends when the service does, killed included.
    A process that dies (killed, out of memory) is replaced and the run sent again once; a run in
    progress at `close` is waited for. As with any spawned process, the service's main module must
    be importable without side effects (`python -m matching` is: a package's __main__ is not
    imported again)."""

    def __init__(self, in_process_from_pairs: int = IN_PROCESS_FROM_PAIRS) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._in_process_from = in_process_from_pairs
        self._threads = EngineInThreads()
        # Imported here: this module loads before numpy does, in the service and in the engine
        # process alike, so that numpy_settings can still apply.
        from matching.engine_goals import MentorsSent

        self._mentors_sent = MentorsSent()

    async def start(self) -> None:
        """Start the process now, not on the first run; it imports the engine (a second or so)
        while the service goes on starting."""
        self._running().submit(_ready)

    async def call(self, scored_pairs: int, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`work(*args, **kwargs)`, a run that scores `scored_pairs` mentee-mentor pairs."""
        if scored_pairs < self._in_process_from:
            return await self._threads.call(scored_pairs, work, *args, **kwargs)
        from matching.engine_goals import MentorsNotHeld, unparcelled

        for attempt in (1, 2):
            pool = self._running()
            sent = self._mentors_sent
            try:
                parcels = [sent.parcel(a) for a in args], {k: sent.parcel(a) for k, a in kwargs.items()}
                return await asyncio.wrap_future(pool.submit(unparcelled, work, *parcels))  # type: ignore[arg-type]
            except BrokenProcessPool:
                sent.forget()
                if self._pool is pool:
                    self._pool = None
                if attempt == 2:
                    raise
                log.warning("the engine process died; starting another and running %s again", work.__name__)
            except MentorsNotHeld:
                sent.forget()
                if attempt == 2:
                    raise
                log.warning(
                    "the engine process lacked mentors it was said to hold; sending %s whole", work.__name__
                )
            except BaseException:
                # Whether the process read this call's new mentors is unknown (a run that raised,
                # a call cancelled before it was sent): the next run sends every mentor again.
                sent.forget()
                raise
        raise AssertionError("unreachable")

    async def close(self, timeout: float = 10.0) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.wait_for(asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True), timeout)

    def _running(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._mentors_sent.forget()
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=self._context, initializer=_engine_started, initargs=(os.getpid(),)
            )
        return self._pool


def _engine_started(service_pid: int) -> None:
    """In the engine process: load the engine, and end with the service. Python's process pools
    leave their processes running when the service is killed (each holds both ends of its call
    queue, so it never sees the queue close): a thread watches for the service to go instead."""
    numpy_settings()
    importlib.import_module(_PRELOAD)
    _keep_freed_memory()
    # What the imports made stays for the process's life: out of the collector's way, so the full
    # collections a run's thousands of objects set off (unpickling its profiles, building its
    # explanations) walk only the run's. Replaying a flood's two largest runs three times:
    # unpickling 0.68-0.71 s against 1.14-1.21 s, the runs 4-8% faster.
    gc.freeze()

    def watch() -> None:
        while os.getppid() == service_pid:
            time.sleep(_WATCH_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="watch the service", daemon=True).start()


def numpy_settings() -> None:
    """Before numpy loads (the service's `__main__`, the engine process's start); a setting the
    service was given is kept.

    Its BLAS (the semantic goals' matrix products) on the calling thread. A cohort run's shortlist
    already scores two blocks at once on two threads (a continuous run's, one); OpenBLAS would
    start a thread per core for each product, and its threads spin while they wait, for CPU the
    service, the store and the broker need. Measured on runs like a flood's (up to 4,146 mentees x
    5,000 mentors, embedded profiles) beside one busy core: 5.3-6.0 s instead of 6.8-7.6 s, and a
    quarter less CPU.

    Its arrays in ordinary pages: numpy asks the kernel for transparent huge pages for every array
    of 4 MB or more, and on a machine whose memory the broker, the store and the services have cut
    up, finding and clearing 2 MB pages cost a run up to 1.7 s of system time (matching's flood,
    its runs of 1,000-4,600 mentees x 5,000 mentors: 0.84-1.68 s of system time in the largest
    runs, against 0.0-0.31 s with ordinary pages; replays in a fresh process showed neither)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def _keep_freed_memory() -> None:
    """In the engine process: keep what a run frees for the next run instead of handing it back to
    the OS. glibc's malloc returns freed memory above its trim threshold and maps blocks above its
    (self-adjusting) mmap threshold afresh, so each run faulted in and zeroed its score arrays'
    pages again: on a continuous flood's runs (up to 4,146 mentees x 5,000 mentors, one process),
    1.2 s of system time with this against 2.1-2.3 s without; with the shortlist's blocks now kept
    small (assignment._BLOCK_ELEMENTS), 0.07 s against 0.26 s. The process keeps up to its largest
    run's arrays, which it would ask for again anyway. Elsewhere than glibc, nothing changes."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
    libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _ready() -> None:
    """Nothing: starting the process is the point."""
