"""Part 4 of `make bench`: the platform as people use it. All four services run as processes;
mentors are imported, then mentees register over HTTP at a steady rate; a reader on the topics
notes when each mentee's PairCreated and the notification about it (readable in the feed: it is
stored in the same write that queues NotificationSent) appear."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11
from aiokafka import AIOKafkaConsumer
from localstack import free_port
from mentorship_schemas import NotificationSent, PairCreated, ProfileRegistered
from mentorship_schemas.topics import all_topic_names
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token

from throughput.kafka_lag import start_group_at_end, until_caught_up
from throughput.services import SECRET, CpuMeter, _import_mentors, service_env, service_rss_mb

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
            group_id=None, auto_offset_reset="latest",
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


class _Connection:
    """One kept-alive HTTP/1.1 connection of the load generator: h11 over asyncio's streams.

    httpx cost the load generator 2.0 ms of CPU per POST (its pool, anyio's socket attributes, its
    request and response models), which on this 2-core machine the services under test then
    lacked; this costs 0.3-0.36 ms (measured against one uvicorn app, 3,000 POSTs each way)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._http = h11.Connection(h11.CLIENT)

    async def post_json(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._streams is None or self._http.our_state is not h11.IDLE:
            await self.close()
            self._streams = await asyncio.open_connection(self._host, self._port)
            self._http = h11.Connection(h11.CLIENT)
        reader, writer = self._streams
        content = json.dumps(body).encode()
        fields = {"host": f"{self._host}:{self._port}", "content-type": "application/json", **headers}
        fields["content-length"] = str(len(content))
        request = h11.Request(method="POST", target=path, headers=list(fields.items()))
        writer.write(self._http.send(request) + self._http.send(h11.Data(data=content)))
        writer.write(self._http.send(h11.EndOfMessage()))
        status, answer = 0, bytearray()
        while not isinstance(event := self._http.next_event(), h11.EndOfMessage):
            if event is h11.NEED_DATA:
                self._http.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                answer += event.data
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError(f"the server closed the connection during POST {path}")
        if self._http.our_state is h11.DONE and self._http.their_state is h11.DONE:
            self._http.start_next_cycle()  # kept alive; otherwise the next request reconnects
        return status, bytes(answer)

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            with contextlib.suppress(OSError):
                await self._streams[1].wait_closed()
            self._streams = None


async def _register_mentees(url: str, org: str, mentees: int, rate: float) -> dict[str, float]:
    """POST one profile per mentee at `rate` per second; returns when each was due (a request that
    waits for a connection counts its wait)."""
    sent: dict[str, float] = {}
    due: asyncio.Queue[int | None] = asyncio.Queue()

    # Each connection sends its requests in turn (one shared pool looked at every connection on
    # each request: three fifths of the bench's CPU once).
    async def connection() -> None:
        http = _Connection(url)
        try:
            while (n := await due.get()) is not None:
                await _register(http, org, n)
        finally:
            await http.close()

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


async def _register(http: _Connection, org: str, n: int) -> None:
    person = f"mentee-{n}"
    token = issue_dev_token(SECRET, sub=person, org=org, roles=["employee"])
    body = {
        "display_name": f"Mentee {n}", "email": f"{person}@example.com", "roles": ["mentee"],
        "skills_wanted": ["python"], "languages": ["en"],
    }  # fmt: skip
    async with asyncio.timeout(60):  # as httpx's was: a stuck request fails the run, never hangs it
        status, answer = await http.post_json("/profiles", body, {"authorization": f"Bearer {token}"})
    if status != 201:
        raise RuntimeError(f"registering {person}: {status} {answer[:300]!r}")


async def run(
    bootstrap: str,
    mongo_url: str,
    work: Path,
    *,
    mentors: int,
    mentees: int,
    rate: float,
    rss: dict[str, float],
    servers: dict[str, int],
) -> dict[str, Any]:
    """The journey's figures, with the CPU each process spent per mentee from the first
    registration until every mentee's notification was read (`servers`: name -> pid)."""
    org = f"bench-journey-{uuid.uuid4().hex[:6]}"
    names = ("profiles", "matching", "sessions", "notifications")
    for name in names:  # the events of the phases before are not this journey's
        await start_group_at_end(bootstrap, f"mentorship.{name}", [topic for topic, _ in all_topic_names()])
    fleet = ServiceFleet(
        env=service_env(bootstrap, mongo_url, f"bench_{uuid.uuid4().hex[:6]}_"),
        log_dir=work / "journey-logs",
        ports={name: free_port() for name in names},
        new_port=free_port,
    )
    fleet.start(timeout=120)
    arrivals = Arrivals(bootstrap, org)
    await arrivals.start()
    reader = asyncio.create_task(arrivals.run())
    try:
        _import_mentors(fleet.services["profiles"].url, org, mentors, capacity=2)
        await until_caught_up(bootstrap, "mentorship.matching", [ProfileRegistered.topic()], timeout=600)
        pids = {name: s.process.pid for name, s in fleet.services.items() if s.process is not None}
        cpu = CpuMeter({**pids, **servers})
        cpu.start()
        sent = await _register_mentees(fleet.services["profiles"].url, org, mentees, rate)
        deadline = time.monotonic() + 120
        # Poll the reader's notes with a deadline (they change on every record it reads).
        while time.monotonic() < deadline and not _complete(arrivals, sent):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        cpu.stop()
        for name, service in fleet.services.items():
            if service.process is not None:
                rss[name] = service_rss_mb(service.process.pid)
        return {**_figures(arrivals, sent), "cpu_ms_per_mentee": cpu.ms_per_record(mentees)}
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
