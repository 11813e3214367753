"""Coalescing: many callers asking for the same work within a short window share one run of it.

A consumer handles a batch's records concurrently; when each of them ends by asking for the same
costly follow-up (matching re-run for an org, say), doing it once for all of them is both faster
and just as correct, provided every caller is served by a run that STARTED after it asked: then the
run sees the caller's write. Runs of one key never overlap; a caller arriving while a run is in
progress is served by the next one.

Two ways to ask:
- `run` waits for the run: a failed run fails every caller waiting in it (each retries, as a failed
  handler does).
- `ask` does not wait: the caller's write is stored and the run will see it. A failed run of an ask
  is run again after a backoff, until it succeeds or the coalescer closes; work that a crash or a
  stop loses this way must be found again from what is stored (a sweep), which is why only work
  that can be found so may be asked for.

A run may end its turn early: returning `Finishing(rest)` lets the next run of its key start while
`rest()` finishes this one (matching writes a run's offers while the next run computes, once the
places they take are written); its callers wait for `rest` too, and its failure is the run's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finishing:
    """What a run returns when its turn may end before the run does: `rest` finishes it."""

    rest: Callable[[], Awaitable[Any]]


@dataclass
class _Pending:
    work: Callable[[], Awaitable[Any]]
    done: asyncio.Future[None]
    retried: bool = False  # someone asked without waiting: a failure is retried, not just reported


class Coalescer:
    """Shares one run per key among the callers of a window (`window` seconds after the first)."""

    def __init__(
        self, window: float = 0.05, *, retry_seconds: float = 0.5, retry_max_seconds: float = 10.0
    ) -> None:
        self._window = window
        self._retry_seconds = retry_seconds
        self._retry_max_seconds = retry_max_seconds
        self._next: dict[Hashable, _Pending] = {}
        self._running: dict[Hashable, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: dict[Hashable, int] = {}
        self._closed = False
        self.runs = 0
        self.asks = 0

    async def run(self, key: Hashable, work: Callable[[], Awaitable[Any]]) -> None:
        """Have `work` (or an equivalent one asked for the same key) run after this call; wait for it."""
        self.asks += 1
        await asyncio.shield(self._pending(key, work).done)

    def ask(self, key: Hashable, work: Callable[[], Awaitable[Any]], *, delay: float | None = None) -> None:
        """Have `work` (or an equivalent one) run after this call, without waiting for it; given a
        `delay`, not before it has passed (instead of the window) unless a run already due
        serves it."""
        if self._closed:
            return
        self.asks += 1
        self._pending(key, work, delay).retried = True

    async def settled(self) -> None:
        """Wait until no run is due or in progress (the runs that asks caused are all done)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self, timeout: float = 10.0) -> None:
        """Take no more asks; let the runs due or in progress finish for up to `timeout` seconds,
        then cancel what is left (a stopping process: what it loses, a sweep finds again)."""
        self._closed = True
        if not self._tasks:
            return
        _, left = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
            log.warning("%d coalesced run(s) cancelled at stop", len(left))

    def _pending(
        self, key: Hashable, work: Callable[[], Awaitable[Any]], delay: float | None = None
    ) -> _Pending:
        pending = self._next.get(key)
        if pending is None:
            pending = _Pending(work, asyncio.get_running_loop().create_future())
            self._next[key] = pending
            self._start_task(key, pending, self._window if delay is None else delay)
        return pending

    def _start_task(self, key: Hashable, pending: _Pending, delay: float) -> None:
        task = asyncio.create_task(self._start(key, pending, delay), name=f"coalesced {key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, key: Hashable, pending: _Pending, delay: float) -> None:
        try:
            await self._when_due(key, pending, delay)
        except asyncio.CancelledError:
            if self._next.get(key) is pending:
                del self._next[key]
            pending.done.cancel()  # a caller waiting in `run` is cancelled with it
            raise

    async def _when_due(self, key: Hashable, pending: _Pending, delay: float) -> None:
        await asyncio.sleep(delay)
        lock = self._running.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # the previous run of this key has had its turn
                if self._next.get(key) is pending:
                    del self._next[key]  # from now on, callers wait for the next run
                self.runs += 1
                returned = await pending.work()
            if isinstance(returned, Finishing):
                await returned.rest()
        except Exception as error:
            pending.done.set_exception(error)
            # Its callers re-raise it; if none waits (asks, or callers cancelled), nobody will.
            pending.done.add_done_callback(lambda done: done.exception())
            if pending.retried:
                self._retry(key, pending.work, error)
        else:
            self._failures.pop(key, None)
            pending.done.set_result(None)

    def _retry(self, key: Hashable, work: Callable[[], Awaitable[Any]], error: Exception) -> None:
        if self._closed:
            return
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        delay = min(self._retry_max_seconds, self._retry_seconds * 2 ** (failures - 1))
        log.warning("run for %s failed (%r); running it again in %.1f s", key, error, delay)
        pending = self._next.get(key)
        if pending is None:  # no caller asked meanwhile: a run of its own, after the backoff
            pending = _Pending(work, asyncio.get_running_loop().create_future(), retried=True)
            self._next[key] = pending
            self._start_task(key, pending, delay)
        else:  # the next run, already due, serves this ask too
            pending.retried = True
