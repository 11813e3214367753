"""Coalescing: many callers asking for the same work within a short window share one run of it.

A consumer handles a batch's records concurrently; when each of them ends by asking for the same
costly follow-up (matching re-run for an org, say), doing it once for all of them is both faster
and just as correct, provided every caller waits for a run that STARTED after it asked: then the
run sees the caller's write. Runs of one key never overlap; a caller arriving while a run is in
progress is served by the next one. Callers still await the run, so a consumer commits its offsets
only after the follow-up is done (at-least-once holds), and a failed run fails every caller in it
(each retries, as a failed handler does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Pending:
    work: Callable[[], Awaitable[Any]]
    done: asyncio.Future[None]


class Coalescer:
    """Shares one run per key among the callers of a window (`window` seconds after the first)."""

    def __init__(self, window: float = 0.05) -> None:
        self._window = window
        self._next: dict[Hashable, _Pending] = {}
        self._running: dict[Hashable, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.runs = 0
        self.asks = 0

    async def run(self, key: Hashable, work: Callable[[], Awaitable[Any]]) -> None:
        """Have `work` (or an equivalent one asked for the same key) run after this call; wait for it."""
        self.asks += 1
        pending = self._next.get(key)
        if pending is None:
            pending = _Pending(work, asyncio.get_running_loop().create_future())
            self._next[key] = pending
            task = asyncio.create_task(self._start(key, pending), name=f"coalesced {key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.shield(pending.done)

    async def _start(self, key: Hashable, pending: _Pending) -> None:
        await asyncio.sleep(self._window)
        lock = self._running.setdefault(key, asyncio.Lock())
        async with lock:  # the previous run of this key has ended
            if self._next.get(key) is pending:
                del self._next[key]  # from now on, callers wait for the next run
            self.runs += 1
            try:
                await pending.work()
            except Exception as error:
                pending.done.set_exception(error)
                # Its callers re-raise it; if all of them were cancelled meanwhile, nobody will.
                pending.done.add_done_callback(lambda done: done.exception())
            else:
                pending.done.set_result(None)
