"""The garbage collector on a timer (servicekit.garbage): automatic collection is off while a
service runs, cycles are still freed by the timer, and the process gets CPython's own collector
back once the last service in it stops."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

from servicekit.garbage import collect_on_a_timer


class _Node:
    def __init__(self) -> None:
        self.itself = self  # a reference cycle: only the cyclic collector frees it


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_cycles_are_freed_by_the_timer_while_automatic_collection_is_off() -> None:
    assert gc.isenabled()
    timer = asyncio.create_task(collect_on_a_timer(0.05, full_every=2))
    await asyncio.sleep(0)  # the timer has started
    try:
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0  # start-up's objects are out of every collection
        gone = weakref.ref(_Node())
        assert gone() is not None  # a cycle outlives its last reference
        for _ in range(200):
            if gone() is None:
                break
            await asyncio.sleep(0.05)
        assert gone() is None
    finally:
        await _stop(timer)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


async def test_the_collector_comes_back_only_when_the_last_timer_stops() -> None:
    first = asyncio.create_task(collect_on_a_timer(60))
    second = asyncio.create_task(collect_on_a_timer(60))
    await asyncio.sleep(0)
    try:
        await _stop(first)
        assert not gc.isenabled()  # the other service in this process still runs its timer
    finally:
        await _stop(second)
    assert gc.isenabled()
