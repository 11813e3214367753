"""The simulated programme: set the company up, then day by day (a clock step at a time) let
everyone act, move the platform's clock, hold or miss the sessions that came due, break things now
and then, check the stores at each month's end, and finally check everything and report."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulation import checks, pairs, people
from simulation.client import Portal
from simulation.invariants import Verdict
from simulation.observe import (
    SERVICE_NAMES,
    LagProbe,
    Snapshot,
    consumed_topics,
    every_topic,
    pending_outbox,
    read_stores,
    read_topics,
)
from simulation.org import build_org
from simulation.platform import DATABASE_PREFIX, Platform
from simulation.programs import assign_programs, program_plans
from simulation.world import World

log = logging.getLogger("simulation")
DAY = 86400.0
MONTH_DAYS = 30
FAULTS = (
    "kill -9 profiles", "kill -9 matching", "broker stopped",
    "kill -9 sessions", "store killed", "kill -9 notifications",
)  # fmt: skip
# The same faults in fewer outages (two services killed at once), for a short run.
FEWER_OUTAGES = (
    "kill -9 profiles and matching",
    "broker stopped",
    "kill -9 sessions and notifications",
    "store killed",
)


@dataclass(frozen=True)
class Options:
    people: int = 500
    months: int = 12
    seed: int = 11
    step_days: float = 3.0
    faults: tuple[str, ...] = FAULTS
    state: Path = Path(".local/simulation")
    out: Path = Path(".local/simulation/report")


@dataclass
class Outcome:
    options: Options
    world: World
    verdicts: list[Verdict]
    snapshot: Snapshot
    faults: list[dict[str, Any]]
    start: datetime
    seconds: float
    calls: dict[str, Any] = field(default_factory=dict)


async def simulate(options: Options) -> Outcome:
    started = time.monotonic()
    shutil.rmtree(options.state / "platform", ignore_errors=True)
    platform = Platform.start(options.state / "platform", grace_seconds=options.step_days * DAY)
    portal = Portal(platform.urls, platform.secret, org="acme")
    try:
        groups = {
            f"mentorship.{name}": consumed_topics(await portal.ok(name, "GET", "/docs/asyncapi.json"))
            for name in SERVICE_NAMES
        }
        probe = LagProbe(platform.kafka.bootstrap_servers, groups)
        world, start = await _set_up(portal, probe, options)
        await _run_days(platform, portal, probe, world, options)
        for fault in platform.faults:
            if fault.error:
                raise RuntimeError(f"the operator could not recover from {fault.kind}: {fault.error}")
        await probe.settled(rounds=3, timeout=300)
        await _outboxes_drained(platform)
        snapshot = await take_snapshot(platform, probe)
        await probe.close()
        verdicts = checks.final(snapshot, world, options.step_days)
        calls = {
            "calls": portal.stats.calls,
            "retried": portal.stats.retried,
            "refused": portal.stats.refused,
        }
        faults = [{"kind": f.kind, "at": f.at, "down_seconds": f.down_seconds} for f in platform.faults]
        return Outcome(options, world, verdicts, snapshot, faults, start, time.monotonic() - started, calls)
    finally:
        await portal.close()
        platform.stop()


async def _set_up(portal: Portal, probe: LagProbe, options: Options) -> tuple[World, datetime]:
    rng = random.Random(options.seed)
    start = await platform_now(portal)
    org = build_org(options.people, options.months, rng)
    plans = program_plans(start, options.months)
    world = World(
        rng=rng,
        seed=options.seed,
        people={p.person_id: p for p in org},
        plans={plan.program_id: plan for plan in plans},
        program_of=assign_programs(org, plans, rng),
        start=start,
    )
    await people.set_up_programs(portal, world)
    await people.import_people(portal, world, [p for p in org if p.joins_in_month == 0], start)
    await probe.settled()
    await people.open_the_open_program(portal)
    await probe.settled()
    log.info("%d people imported into %d programmes", len(world.present), len(plans))
    return world, start


async def _run_days(
    platform: Platform, portal: Portal, probe: LagProbe, world: World, options: Options
) -> None:
    days = options.months * MONTH_DAYS
    steps = int(days / options.step_days)
    plan = options.faults
    fault_steps = {int(steps * (0.12 + 0.7 * i / len(plan))): kind for i, kind in enumerate(plan)}
    month = 0
    for step in range(steps):
        now = await platform_now(portal)
        day = int(step * options.step_days)
        if day // MONTH_DAYS != month or step == 0:
            month = day // MONTH_DAYS
            await people.monthly(portal, world, month, now)
        marks = [time.monotonic()]
        await _one_day(portal, world, (day, options.step_days, days), now)
        if step in fault_steps:
            platform.wait_for_operator()  # one outage at a time
            platform.inject(fault_steps[step], at=now.isoformat())
        marks.append(time.monotonic())
        after = await advance(portal, options.step_days * DAY)
        await pairs.check_in(portal, world, after)
        marks.append(time.monotonic())
        if platform.outage_over() and not await probe.settled():
            log.warning("the platform did not settle after day %d", day)
        marks.append(time.monotonic())
        spent = ", ".join(f"{b - a:.1f}" for a, b in itertools.pairwise(marks))
        log.info("day %d: %s s (people, clock and sessions, settling)", day, spent)
        if (day + options.step_days) // MONTH_DAYS != day // MONTH_DAYS:
            platform.wait_for_operator()
            await probe.settled()
            snapshot = await take_snapshot(platform, probe, with_topics=False)
            checks.checkpoint(snapshot, world, f"month {month + 1}")
            log.info("month %d done: %d active pairs", month + 1, len(world.active_pairs()))
    platform.wait_for_operator()


async def _one_day(portal: Portal, world: World, days: tuple[float, float, int], now: datetime) -> None:
    listed = await pairs.discover(portal, world, now)
    await pairs.daily(portal, world, now)
    await pairs.admin_escalations(portal, world, listed, now)
    await people.approvals(portal, world)
    for plan in world.plans.values():
        if plan.requests:
            await people.mentee_requests(portal, world, plan, now)
    await people.mentor_answers(portal, world)
    await people.mentor_moods(portal, world, now)
    await people.erasures(portal, world, days, now)


async def _outboxes_drained(platform: Platform, timeout: float = 60.0) -> None:
    """Wait (a bounded time) until no service holds events it has not published."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await pending_outbox(platform.store.url, DATABASE_PREFIX):
            return
        await asyncio.sleep(0.5)


async def platform_now(portal: Portal) -> datetime:
    seen = await portal.ok("profiles", "GET", "/dev/clock", admin=True)
    return datetime.fromisoformat(seen["now"])


async def advance(portal: Portal, seconds: float) -> datetime:
    """Move the platform's clock and wait until every service reads the new time."""
    moved = await portal.ok("sessions", "POST", "/dev/clock/advance", admin=True, json={"seconds": seconds})
    for name in SERVICE_NAMES:
        while True:
            seen = await portal.peek(name, "/dev/clock")
            if seen is None or seen["offset_seconds"] >= moved["offset_seconds"]:
                break  # a service that is down reads the clock when the operator starts it again
            await asyncio.sleep(0.05)
    return datetime.fromisoformat(moved["now"])


async def take_snapshot(
    platform: Platform, probe: LagProbe, *, with_topics: bool = True, attempts: int = 10
) -> Snapshot:
    """The stores and, `with_topics`, every record of every topic, read so that each record's
    effects are in the stores read: the platform's clock keeps running meanwhile (a sweep can
    publish a SessionMissed while the stores are read), so the stores are read between two
    readings of the topics' end offsets, with every group caught up to the first, and read again
    if the two differ. The records read are those up to the first."""
    if not with_topics:
        documents, pending = await read_stores(platform.store.url, DATABASE_PREFIX)
        return Snapshot(documents=documents, pending_outbox=pending)
    for attempt in range(1, attempts + 1):
        ends = await probe.end_offsets()
        lag = await probe.lag()  # measured after `ends`: no lag means everything up to them is handled
        documents, pending = await read_stores(platform.store.url, DATABASE_PREFIX)
        if not any(lag.values()) and await probe.end_offsets() == ends:
            break
        log.info("the topics moved while the stores were read (attempt %d): reading again", attempt)
        await probe.settled(rounds=1)
    else:
        log.warning("the topics kept moving while the stores were read: the snapshot may be uneven")
    records = await read_topics(platform.kafka.bootstrap_servers, every_topic(), until=ends)
    return Snapshot(documents=documents, records=records, lag=lag, pending_outbox=pending)
