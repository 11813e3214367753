"""Part 4 of `make bench`: the platform as people use it. All four services run as processes;
mentors are imported, then mentees register over HTTP at a steady rate; a reader on the topics
notes when each mentee's PairCreated and the notification about it (readable in the feed: it is
stored in the same write that queues NotificationSent) appear."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from localstack import free_port
from mentorship_schemas import NotificationSent, PairCreated, ProfileRegistered
from mentorship_schemas.topics import all_topic_names
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token

from throughput.kafka_lag import start_group_at_end, until_caught_up
from throughput.services import SECRET, _import_mentors, service_env, service_rss_mb

# Registrations in flight at once, each on its own kept-alive connection.
CONNECTIONS = 32


class Arrivals:
    """Reads PairCreated and NotificationSent as they land and notes when, per mentee."""

    def __init__(self, bootstrap: str, org: str) -> None:
        self.paired: dict[str, tuple[float, str]] = {}  # mentee -> (seen at, PairCreated ce_id)
        self.notified: dict[tuple[str, str], float] = {}  # (recipient, cause event id) -> seen at
        self._org = org
        self._consumer = AIOKafkaConsumer(
            PairCreated.topic(), NotificationSent.topic(), bootstrap_servers=bootstrap,
            group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=20,
        )  # fmt: skip

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.seek_to_end()

    async def run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=50)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self._note(record, now)

    def _note(self, record: Any, now: float) -> None:
        headers = {name: value.decode() for name, value in record.headers}
        data = json.loads(record.value)
        if data.get("org_id") != self._org:
            return
        if headers.get("ce_type") == PairCreated.ce_type():
            self.paired.setdefault(data["mentee_id"], (now, headers["ce_id"]))
        elif headers.get("ce_type") == NotificationSent.ce_type():
            self.notified.setdefault((data["recipient_id"], data["cause_event_id"]), now)

    async def stop(self) -> None:
        await self._consumer.stop()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _register_mentees(url: str, org: str, mentees: int, rate: float) -> dict[str, float]:
    """POST one profile per mentee at `rate` per second; returns when each was due (a request that
    waits for a connection counts its wait)."""
    sent: dict[str, float] = {}
    due: asyncio.Queue[int | None] = asyncio.Queue()

    # One client per connection, each sending its requests in turn. One client with a pool of
    # 32 connections looked at every pooled connection on each request (httpcore asks each
    # whether it expired, through anyio's socket attributes): py-spy had that at three fifths
    # of the bench's CPU, which the services under test then lacked on this 2-core machine.
    async def connection() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            while (n := await due.get()) is not None:
                await _register(http, org, n)

    connections = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
    try:
        started = time.monotonic()
        for n in range(mentees):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            sent[f"mentee-{n}"] = time.monotonic()
            due.put_nowait(n)
        for _ in connections:
            due.put_nowait(None)
        await asyncio.gather(*connections)
    finally:
        for task in connections:
            task.cancel()
    return sent


async def _register(http: httpx.AsyncClient, org: str, n: int) -> None:
    person = f"mentee-{n}"
    token = issue_dev_token(SECRET, sub=person, org=org, roles=["employee"])
    body = {
        "display_name": f"Mentee {n}", "email": f"{person}@example.com", "roles": ["mentee"],
        "skills_wanted": ["python"], "languages": ["en"],
    }  # fmt: skip
    answer = await http.post("/profiles", json=body, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 201:
        raise RuntimeError(f"registering {person}: {answer.status_code} {answer.text[:300]}")


async def run(
    bootstrap: str,
    mongo_url: str,
    work: Path,
    *,
    mentors: int,
    mentees: int,
    rate: float,
    rss: dict[str, float],
) -> dict[str, Any]:
    org = f"bench-journey-{uuid.uuid4().hex[:6]}"
    names = ("profiles", "matching", "sessions", "notifications")
    for name in names:  # the events of the phases before are not this journey's
        await start_group_at_end(bootstrap, f"mentorship.{name}", [topic for topic, _ in all_topic_names()])
    fleet = ServiceFleet(
        env=service_env(bootstrap, mongo_url, f"bench_{uuid.uuid4().hex[:6]}_"),
        log_dir=work / "journey-logs",
        ports={name: free_port() for name in names},
    )
    fleet.start(timeout=120)
    arrivals = Arrivals(bootstrap, org)
    await arrivals.start()
    reader = asyncio.create_task(arrivals.run())
    try:
        _import_mentors(fleet.services["profiles"].url, org, mentors, capacity=2)
        await until_caught_up(bootstrap, "mentorship.matching", [ProfileRegistered.topic()], timeout=600)
        sent = await _register_mentees(fleet.services["profiles"].url, org, mentees, rate)
        deadline = time.monotonic() + 120
        # Poll the reader's notes with a deadline (they change on every record it reads).
        while time.monotonic() < deadline and not _complete(arrivals, sent):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        for name, service in fleet.services.items():
            if service.process is not None:
                rss[name] = service_rss_mb(service.process.pid)
        return _figures(arrivals, sent)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await arrivals.stop()
        fleet.stop()


def _complete(arrivals: Arrivals, sent: dict[str, float]) -> bool:
    return all(
        person in arrivals.paired and (person, arrivals.paired[person][1]) in arrivals.notified
        for person in sent
    )


def _figures(arrivals: Arrivals, sent: dict[str, float]) -> dict[str, Any]:
    pair = [arrivals.paired[p][0] - t for p, t in sent.items() if p in arrivals.paired]
    notify = [
        arrivals.notified[(p, arrivals.paired[p][1])] - t
        for p, t in sent.items()
        if p in arrivals.paired and (p, arrivals.paired[p][1]) in arrivals.notified
    ]
    return {
        "mentees": len(sent),
        "paired": len(pair),
        "notified": len(notify),
        "pair_p50_s": round(statistics.median(pair), 3) if pair else None,
        "pair_p95_s": round(_percentile(pair, 0.95), 3),
        "pair_p99_s": round(_percentile(pair, 0.99), 3),
        "notify_p50_s": round(statistics.median(notify), 3) if notify else None,
        "notify_p99_s": round(_percentile(notify, 0.99), 3),
    }
