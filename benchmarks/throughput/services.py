"""Part 1 and 2 of `make bench`: the raw passthrough baseline, and each service as a process on
its main event, both measured the same way: records produced, then the time until the consumer
group has committed them all (its lag is 0) and, for a service, the events they caused are
published (its outbox is empty: the loop's own are acknowledged before it commits)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localstack import free_port
from mentorship_schemas import (
    CloudEvent,
    Event,
    MentorAvailable,
    PairCreated,
    ProfileRegistered,
    SessionMissed,
)
from mentorship_schemas.events import PersonRole
from mentorship_schemas.topics import all_topic_names
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from service_fleet import ServiceFleet, ServiceProcess
from servicekit.auth import issue_dev_token
from servicekit.kafka import ensure_topics

from throughput.kafka_lag import Outgoing, produce, start_group_at_end, until_caught_up

SECRET = "bench-development-secret-0123456789-abcdef"
PASSTHROUGH_IN, PASSTHROUGH_OUT = "bench.passthrough.in", "bench.passthrough.out"

# What each service is measured on, and the topics its group must have caught up on.
MAIN_EVENTS: dict[str, list[type[Event]]] = {
    "profiles": [PairCreated],
    "matching": [MentorAvailable, ProfileRegistered],
    "sessions": [PairCreated],
    "notifications": [SessionMissed],
}


def _children(pid: int) -> list[int]:
    """The process's living child processes (FileNotFoundError once it has ended)."""
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """CPU time (user + system) of a process and, unless told not to, of its living children
    (matching's engine process), 0 for one that has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = _children(pid) if children else []
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in kids)


class CpuMeter:
    """The CPU each process spent between `start` and `stop` (name -> pid, with their children),
    and the bench's own: where a record's cost lies. Records/s on a shared machine move with its
    other tenants; CPU per record much less."""

    def __init__(self, processes: dict[str, int]) -> None:
        self._processes = processes
        self._started: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        # The bench's children are the servers and services it started: counted under their names.
        spent = {name: cpu_seconds(pid) for name, pid in self._processes.items()}
        return {**spent, "bench": cpu_seconds(os.getpid(), children=False)}

    def start(self) -> None:
        self._started = self._now()

    def stop(self) -> None:
        self.spent = {name: seconds - self._started[name] for name, seconds in self._now().items()}

    def ms_per_record(self, records: int) -> dict[str, float]:
        return {name: round(1000 * seconds / records, 3) for name, seconds in self.spent.items()}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def service_rss_mb(pid: int) -> float:
    """A service's RSS with its child processes' (matching's engine process, its multiprocessing
    helper): pages they share are counted in each, so this is an upper bound."""
    try:
        return rss_mb(pid) + sum(service_rss_mb(child) for child in _children(pid))
    except FileNotFoundError:  # ended meanwhile
        return 0.0


def outgoing(event: Event, event_id: str | None = None) -> Outgoing:
    envelope = CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source="/bench",
        type=event.ce_type(),
        subject=event.aggregate_id,
        time=datetime.now(UTC),
        data=event.model_dump(mode="json"),
    )
    headers = [(name, value.encode()) for name, value in envelope.kafka_headers().items()]
    return Outgoing(event.topic(), envelope.key, json.dumps(envelope.data).encode(), headers)


def service_env(bootstrap: str, mongo_url: str, prefix: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URL": mongo_url,
        "MONGODB_DATABASE_PREFIX": prefix,
        "AUTH_ALLOW_DEV_HS256": "true",
        "AUTH_DEV_HS256_SECRET": SECRET,
        "OTEL_TRACES_EXPORTER": "none",
        "LOG_LEVEL": "WARNING",
    }


async def _pace(
    bootstrap: str,
    group: str,
    topics: list[str],
    records: list[Outgoing],
    timeout: float = 900,
    settled: Callable[[], Awaitable[bool]] | None = None,
    cpu: CpuMeter | None = None,
) -> float:
    """Records/s from the first produced until the group has committed them all and, if given,
    `settled` says their effects are all there (work a service does after committing counts);
    `cpu` measures the same span."""
    if cpu is not None:
        cpu.start()
    started = time.monotonic()
    await produce(bootstrap, records)
    finished = await until_caught_up(bootstrap, group, topics, timeout)
    while settled is not None and not await settled():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"group {group} committed its records but their effects are not all there")
        await asyncio.sleep(0.1)
        finished = time.monotonic()
    if cpu is not None:
        cpu.stop()
    return len(records) / (finished - started)


async def passthrough(
    bootstrap: str, count: int, work: Path, servers: dict[str, int], *, floods: int = 1
) -> list[tuple[float, dict[str, float]]]:
    """For each of `floods` floods of `count` records in a row through one loop: records/s of the
    raw loop, and the CPU per record (ms) of the loop, the bench (producing and polling the lag)
    and the `servers` (name -> pid) meanwhile.

    Measured after a flood of as many records that is not: the services' floods come later, on a
    broker whose hot paths are compiled by then, and a baseline taken on a broker just started
    was a cold one. Four floods of 20,000 records in a row through one loop on a fresh Kafka,
    twice: 16,723 and 16,885 records/s for the first, 19,536-20,693 for each after it (Kafka's CPU
    per record 0.038-0.039 ms, then 0.015-0.020)."""
    await ensure_topics(bootstrap, [(PASSTHROUGH_IN, 6), (PASSTHROUGH_OUT, 6)])
    group = f"bench.passthrough.{uuid.uuid4().hex[:6]}"
    loop = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("passthrough_loop.py")), bootstrap, group,
        PASSTHROUGH_IN, PASSTHROUGH_OUT,
        stdout=(work / "passthrough.log").open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        records = [_to(PASSTHROUGH_IN, outgoing(_session_missed("warm", n))) for n in range(count)]
        await produce(bootstrap, records)
        await until_caught_up(bootstrap, group, [PASSTHROUGH_IN], timeout=300)
        measured = []
        for flood in range(floods):
            batch = [_to(PASSTHROUGH_IN, outgoing(_session_missed(f"bench{flood}", n))) for n in range(count)]
            cpu = CpuMeter({"loop": loop.pid, **servers})
            per_s = await _pace(bootstrap, group, [PASSTHROUGH_IN], batch, cpu=cpu)
            measured.append((per_s, cpu.ms_per_record(count)))
        return measured
    finally:
        loop.terminate()
        await asyncio.wait_for(loop.wait(), 30)


def _to(topic: str, record: Outgoing) -> Outgoing:
    return Outgoing(topic, record.key, record.value, record.headers)


async def service_pace(
    name: str,
    bootstrap: str,
    mongo_url: str,
    count: int,
    work: Path,
    servers: dict[str, int],
    *,
    python: str = sys.executable,
    settings: dict[str, str] | None = None,
    replicas: int = 1,
) -> tuple[float, float, dict[str, float]]:
    """Start `name` alone as `replicas` processes (of `python`, with `settings` in their
    environment; members of one consumer group, as the Helm chart's replicas are), give it what
    its main event needs, then measure; returns records/s, the first process's resident memory at
    the end (MB), and the CPU per record (ms) of each process of the service (with its engine
    process; the second is `name #2`), the `servers` (name -> pid) and the bench meanwhile."""
    org = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    prefix = f"bench_{uuid.uuid4().hex[:6]}_"
    group = f"mentorship.{name}"
    # Earlier phases left their events on the shared topics: this group starts after them.
    await start_group_at_end(bootstrap, group, [topic for topic, _ in all_topic_names()])
    fleets = [
        ServiceFleet(
            env={**service_env(bootstrap, mongo_url, prefix), **(settings or {})},
            log_dir=work / "logs" / f"{name}-{n + 1}",
            ports={name: free_port()},
            python=python,
            new_port=free_port,
        )
        for n in range(replicas)
    ]
    try:
        for fleet in fleets:
            fleet.start(timeout=120)
        topics = sorted({event.topic() for event in MAIN_EVENTS[name]})
        await PREPARE[name](org, count, bootstrap, fleets[0].services[name].url)
        await until_caught_up(bootstrap, group, topics, timeout=300)
        records = RECORDS[name](org, count)
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
        pids = [_pid(fleet.services[name]) for fleet in fleets]
        cpu = CpuMeter(dict(zip(process_names(name, replicas), pids, strict=True)) | servers)
        try:  # one client for the polls of `settled`, not one per poll
            settled = settled_for(name, mongo[f"{prefix}{name}"], org, count)
            per_s = await _pace(bootstrap, group, topics, records, settled=settled, cpu=cpu)
        finally:
            await mongo.close()
        return per_s, service_rss_mb(pids[0]), cpu.ms_per_record(count)
    finally:
        for fleet in fleets:
            fleet.stop()
        await drop_databases(mongo_url, prefix)


def process_names(name: str, replicas: int) -> list[str]:
    """How `service_pace` names a service's processes in its CPU figures: `name`, `name #2`, ..."""
    return [name, *(f"{name} #{n}" for n in range(2, replicas + 1))]


def _pid(service: ServiceProcess) -> int:
    assert service.process is not None
    return service.process.pid


async def drop_databases(mongo_url: str, prefix: str) -> None:
    """Each phase starts on an empty store: what an earlier phase stored is dropped after it."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        for name in await mongo.list_database_names():
            if name.startswith(prefix):
                await mongo.drop_database(name)
    finally:
        await mongo.close()


# ---------------------------------------------------------------- what each service is fed


def _session_missed(org: str, n: int) -> SessionMissed:
    return SessionMissed(
        org_id=org,
        version=2,
        session_id=f"session-{n}",
        pair_id=f"pair-{n % 2000}",
        participant_ids=[f"mentor-{n % 500}", f"mentee-{n % 1000}"],
        starts_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        missed_in_a_row=1,
    )


def _pair_created(org: str, n: int, mentors: int) -> PairCreated:
    return PairCreated(
        org_id=org,
        version=1,
        pair_id=f"pair-{n}",
        program_id="open",
        mentor_id=f"mentor-{n % mentors}",
        mentee_id=f"mentee-{n}",
        score=0.5,
    )


def _registered(org: str, person: str, role: PersonRole) -> ProfileRegistered:
    return ProfileRegistered(
        org_id=org,
        version=1,
        person_id=person,
        roles=[role],
        display_name=person.title(),
        email=f"{person}@example.com",
        skills_offered=["python"] if role is PersonRole.MENTOR else [],
        skills_wanted=["python"] if role is PersonRole.MENTEE else [],
        languages=["en"],
    )


def _import_mentors(url: str, org: str, mentors: int, capacity: int) -> None:
    token = issue_dev_token(
        SECRET, sub="bench-admin", org=org, roles=["employee", "hr_admin", "program_admin"]
    )
    for first in range(0, mentors, 500):
        rows = [
            {"person_id": f"mentor-{m}", "display_name": f"Mentor {m}", "email": f"mentor-{m}@example.com",
             "roles": ["mentor"], "mentor_capacity": capacity, "skills_offered": ["python"]}
            for m in range(first, min(mentors, first + 500))
        ]  # fmt: skip
        request = urllib.request.Request(
            f"{url}/profiles/import",
            data=json.dumps(rows).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            report = json.load(response)
        if report.get("invalid"):
            raise RuntimeError(f"mentor import refused rows: {report['rows'][:3]}")


async def _prepare_profiles(org: str, count: int, bootstrap: str, url: str) -> None:
    _import_mentors(url, org, mentors=count // 10, capacity=20)


async def _prepare_nothing(org: str, count: int, bootstrap: str, url: str) -> None:
    return None


async def _prepare_notifications(org: str, count: int, bootstrap: str, url: str) -> None:
    people = [(f"mentor-{n}", PersonRole.MENTOR) for n in range(500)]
    people += [(f"mentee-{n}", PersonRole.MENTEE) for n in range(1000)]
    await produce(bootstrap, [outgoing(_registered(org, person, role)) for person, role in people])
    await until_caught_up(bootstrap, "mentorship.notifications", [ProfileRegistered.topic()], timeout=300)


def _matching_records(org: str, count: int) -> list[Outgoing]:
    mentors = count // 4
    records: list[Outgoing] = []
    for m in range(mentors):
        records.append(outgoing(_registered(org, f"mentor-{m}", PersonRole.MENTOR)))
        records.append(
            outgoing(
                MentorAvailable(org_id=org, version=2, person_id=f"mentor-{m}", capacity=2, active_mentees=0)
            )
        )
    records += [
        outgoing(_registered(org, f"mentee-{n}", PersonRole.MENTEE)) for n in range(count - 2 * mentors)
    ]
    return records


def _all_paired(
    database: AsyncDatabase[dict[str, Any]], org: str, count: int
) -> Callable[[], Awaitable[bool]]:
    """Matching is done when every mentee of `_matching_records` has their pair stored (with its
    PairCreated in the outbox): the consumer may commit before continuous matching has run."""
    mentees = count - 2 * (count // 4)
    candidates = database["candidates"]
    query = {"org_id": org, "role": "mentee", "status": "paired"}
    waiting = {"org_id": org, "role": "mentee", "status": "waiting"}

    async def settled() -> bool:
        # While someone waits, the index on (org, role, status) says so at the cost of a lookup;
        # the count of the paired (most of the collection: a scan on the emulator) decides after.
        if await candidates.find_one(waiting, {"_id": 1}) is not None:
            return False
        return await candidates.count_documents(query) >= mentees

    return settled


PREPARE: dict[str, Callable[[str, int, str, str], Awaitable[None]]] = {
    "profiles": _prepare_profiles,
    "matching": _prepare_nothing,
    "sessions": _prepare_nothing,
    "notifications": _prepare_notifications,
}

RECORDS: dict[str, Callable[[str, int], list[Outgoing]]] = {
    "profiles": lambda org, count: [outgoing(_pair_created(org, n, count // 10)) for n in range(count)],
    "matching": _matching_records,
    "sessions": lambda org, count: [outgoing(_pair_created(org, n, count // 10)) for n in range(count)],
    "notifications": lambda org, count: [outgoing(_session_missed(org, n)) for n in range(count)],
}

# What else must be there, besides the committed offsets and the published events, before a
# service's records count as handled.
SETTLED: dict[str, Callable[[AsyncDatabase[dict[str, Any]], str, int], Callable[[], Awaitable[bool]]]] = {
    "matching": _all_paired,
}

# Where each service's outbox lies: its records count as handled once the events they caused are
# published too (the relay runs beside the consumer, in the same process; what it has not sent
# yet, other services have not seen).
OUTBOX: dict[str, str] = {
    "profiles": "people",
    "matching": "candidates",
    "sessions": "relationships",
    "notifications": "notifications",
}


def settled_for(
    name: str, database: AsyncDatabase[dict[str, Any]], org: str, count: int
) -> Callable[[], Awaitable[bool]]:
    """Done when what SETTLED asks for is there and the service's outbox is empty."""
    ready = SETTLED[name](database, org, count) if name in SETTLED else None
    outbox = database[OUTBOX[name]]

    async def settled() -> bool:
        if ready is not None and not await ready():
            return False
        return await outbox.find_one({"outbox_pending": True}, {"_id": 1}) is None

    return settled
