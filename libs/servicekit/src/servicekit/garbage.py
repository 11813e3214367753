"""Python's cyclic garbage collector on a timer instead of on allocation counts.

By default CPython collects its youngest objects every 700 net allocations of containers. Under a
consumer most young objects are a batch's records, documents and models, alive while the batch
runs: each collection walks them again, and one in seven found 45,000-85,000 of them (10-50 ms
each). Measured over 20,000 records (sessions, notifications, matching): the collector took 12-18%
of the service's CPU, and hardly any of it found garbage: reference counting frees almost
everything, the cycles left (start-up's) number a few thousand objects.

So the runtime turns the automatic collector off and collects on a timer: the young generations
every `every_seconds` (what survived since then is walked once), and everything every
`full_every` rounds. What start-up built is frozen out of all of it (it lives as long as the
process). Cyclic garbage then waits at most `every_seconds` to be freed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

_running = 0  # timers running in this process (tests run several services in one)


async def collect_on_a_timer(every_seconds: float, *, full_every: int = 6) -> None:
    """Collect every `every_seconds` until cancelled, with the automatic collector off meanwhile."""
    global _running
    _running += 1
    if _running == 1:
        # No collection first: it would stop the event loop for 0.1-0.3 s just as the consumers
        # join their groups; the few thousand cyclic objects start-up leaves stay frozen.
        gc.freeze()
        gc.disable()
    try:
        rounds = 0
        while True:
            await asyncio.sleep(every_seconds)
            rounds += 1
            generation = 2 if rounds % full_every == 0 else 1
            started = time.perf_counter()
            found = gc.collect(generation)
            log.debug(
                "collected generation %d: %d unreachable in %.3f s",
                generation,
                found,
                time.perf_counter() - started,
            )
    finally:
        _running -= 1
        if _running == 0:
            gc.unfreeze()
            gc.enable()
