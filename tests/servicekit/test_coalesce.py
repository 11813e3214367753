"""Coalescing: callers of one window share a run that started after they asked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from servicekit.coalesce import Coalescer, Finishing

pytestmark = pytest.mark.fast


class Flaky:
    """Work whose first `failures` runs fail (the store briefly unreachable), then succeed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0

    async def __call__(self) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("store briefly unreachable")


def noting(ran: list[str], name: str) -> Callable[[], Awaitable[None]]:
    """Work that notes its name in `ran` when it runs."""

    async def run() -> None:
        ran.append(name)

    return run


async def test_callers_of_one_window_share_one_run_and_each_key_runs_apart() -> None:
    coalescer = Coalescer(window=0.01)
    ran: list[str] = []
    keys = ["acme"] * 20 + ["globex"] * 5
    await asyncio.gather(*(coalescer.run(key, noting(ran, key)) for key in keys))
    assert sorted(ran) == ["acme", "globex"]
    assert (coalescer.asks, coalescer.runs) == (25, 2)


async def test_a_caller_arriving_during_a_run_waits_for_the_next_one_which_sees_its_write() -> None:
    coalescer = Coalescer(window=0.001)
    written: list[int] = []
    seen_by_runs: list[list[int]] = []
    first_run_started = asyncio.Event()
    release_first_run = asyncio.Event()

    async def run() -> None:
        seen_by_runs.append(list(written))
        if len(seen_by_runs) == 1:
            first_run_started.set()
            await release_first_run.wait()

    written.append(1)
    first = asyncio.create_task(coalescer.run("acme", run))
    await first_run_started.wait()
    written.append(2)  # a write made while the first run is already reading
    second = asyncio.create_task(coalescer.run("acme", run))
    await asyncio.sleep(0.01)
    assert not second.done(), "runs of one key never overlap"
    release_first_run.set()
    await asyncio.gather(first, second)
    assert seen_by_runs == [[1], [1, 2]]


async def test_a_run_ending_its_turn_early_lets_the_next_start_while_its_callers_wait_for_the_rest() -> None:
    coalescer = Coalescer(window=0.001)
    events: list[str] = []
    release_rest = asyncio.Event()

    async def first() -> Finishing:
        events.append("first's turn")

        async def rest() -> None:
            await release_rest.wait()
            events.append("first's rest")

        return Finishing(rest)

    async def second() -> None:
        events.append("second's turn")

    waiting_on_first = asyncio.create_task(coalescer.run("acme", first))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(coalescer.run("acme", second), 1)  # runs while the first's rest waits
    assert not waiting_on_first.done(), "the first run's callers wait for its rest"
    release_rest.set()
    await asyncio.wait_for(waiting_on_first, 1)
    assert events == ["first's turn", "second's turn", "first's rest"]


async def test_a_failed_rest_fails_its_run_whose_callers_see_it_and_whose_ask_runs_again() -> None:
    coalescer = Coalescer(window=0.001, retry_seconds=0.01)
    rest = Flaky(failures=2)
    turns: list[int] = []

    async def run() -> Finishing:
        turns.append(len(turns) + 1)
        return Finishing(rest)

    with pytest.raises(ConnectionError):
        await coalescer.run("acme", run)
    coalescer.ask("acme", run)  # its rest fails once more, then the retry succeeds
    await asyncio.wait_for(coalescer.settled(), 1)
    assert (turns, rest.attempts) == ([1, 2, 3], 3)


async def test_a_failed_run_fails_every_caller_in_it_and_the_next_run_starts_afresh() -> None:
    coalescer = Coalescer(window=0.001)
    flaky = Flaky(failures=1)
    outcomes = await asyncio.gather(*(coalescer.run("acme", flaky) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    await coalescer.run("acme", flaky)
    assert flaky.attempts == 2


async def test_an_ask_does_not_wait_and_the_asks_of_a_window_share_one_run() -> None:
    coalescer = Coalescer(window=0.01)
    ran: list[str] = []
    release = asyncio.Event()

    async def run() -> None:
        await release.wait()
        ran.append("acme")

    for _ in range(10):
        coalescer.ask("acme", run)  # returns at once: nothing has run yet
    assert ran == []
    release.set()
    await asyncio.wait_for(coalescer.settled(), 1)
    assert (ran, coalescer.asks, coalescer.runs) == (["acme"], 10, 1)


async def test_a_failed_run_of_an_ask_runs_again_until_it_succeeds() -> None:
    coalescer = Coalescer(window=0.001, retry_seconds=0.01)
    flaky = Flaky(failures=2)
    coalescer.ask("acme", flaky)
    await asyncio.wait_for(coalescer.settled(), 1)
    assert (flaky.attempts, coalescer.runs) == (3, 3)


async def test_a_caller_waiting_with_run_shares_the_run_of_an_ask_and_sees_its_failure() -> None:
    coalescer = Coalescer(window=0.01, retry_seconds=0.01)
    flaky = Flaky(failures=1)
    coalescer.ask("acme", flaky)
    with pytest.raises(ConnectionError):
        await coalescer.run("acme", flaky)  # joins the asked run, which fails
    await asyncio.wait_for(coalescer.settled(), 1)
    assert flaky.attempts == 2, "the ask is retried even though the waiting caller saw the failure"


async def test_close_lets_a_run_in_progress_finish_and_cancels_one_that_overruns() -> None:
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def stuck() -> None:
        await asyncio.Event().wait()

    coalescer = Coalescer(window=0.001)
    coalescer.ask("acme", quick)
    coalescer.ask("globex", stuck)
    await asyncio.wait_for(coalescer.close(timeout=0.2), 2)
    assert finished == ["quick"]
    coalescer.ask("acme", quick)  # closed: no new run starts
    await asyncio.sleep(0.05)
    assert (finished, coalescer.runs) == (["quick"], 2)
    await asyncio.wait_for(coalescer.settled(), 1)


async def test_an_ask_with_a_delay_runs_no_sooner_unless_a_run_already_due_serves_it() -> None:
    coalescer = Coalescer(window=0.001)
    ran: list[str] = []
    coalescer.ask("acme", noting(ran, "late"), delay=0.2)
    await asyncio.sleep(0.05)
    assert ran == [], "not before its delay, though the window is shorter"
    await asyncio.wait_for(coalescer.settled(), 5)
    assert ran == ["late"]

    coalescer.ask("acme", noting(ran, "due"))  # due after the window
    coalescer.ask("acme", noting(ran, "later"), delay=5)  # served by the run already due
    await asyncio.wait_for(coalescer.settled(), 1)
    assert ran == ["late", "due"]
    assert coalescer.runs == 2
