"""`make bench`: does every service keep pace with Kafka? Each figure is printed next to a baseline
measured in the same run, on the same broker and store (started here, fresh, unless
`KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` point at running ones).

1. passthrough: a raw aiokafka loop (consume, produce with acks=all, commit) over 20,000 records,
   after as many not measured (the broker warms up as it does before part 2's floods): the pace of
   the broker and the client library alone, the baseline for 2 (the median of `FLOODS` floods);
2. each service alone on its main event (profiles: PairCreated; matching: MentorAvailable and
   ProfileRegistered; sessions: PairCreated; notifications: SessionMissed), 20,000 records each:
   records/s from the first record produced until the group's lag is 0 and the events they caused
   are published (the outbox is empty; matching: every mentee paired too), and the ratio to 1
   (target: every ratio >= 0.20); first as one process, then as the Helm chart deploys it, two
   replicas in one consumer group (one Python process uses one core; the JSON's `per_s` and
   `ratio` are the two replicas', `by_replicas` holds both; the headline shape's figure is the
   median of `FLOODS` floods, each printed and kept in `floods`). Like 1, each service is measured
   after a flood of as many records that is not counted (`WARM_UP`), printed as such and kept in
   the JSON's `warm_up`;
3. the outbox relay against publishing the same events directly with FastStream (target: ratio
   >= 0.50), and against the relay's own aiokafka producer alone;
4. a journey over HTTP with all four services as processes: mentors, then mentees registering at
   a steady rate in one org; registration -> PairCreated and -> notification readable, p50/p95/p99
   (targets: every mentee paired, p99 <= 2 s and <= 3 s);
5. the resident memory of every process at the end.
Parts 1 and 2 also print the CPU each process spent per record while measured (the loop or the
service, the store and Kafka when started here, and the bench itself, which produces the records
and polls the lag), and what the machine's cores allow per record, all processes together, at
ratio 0.20: records/s move with the machine's other tenants, CPU per record much less. Part 4
prints the CPU per mentee of every process from the first registration until the last notification
was read, and what the cores allow at the rate: a journey that needs most of them queues, and its
tail grows with whatever else the machine runs.
Sizes: BENCH_RECORDS, BENCH_MENTORS, BENCH_MENTEES, BENCH_RATE; BENCH_SERVICES picks part 2's services,
BENCH_REPLICAS its shapes (`1,2`; `1` measures one process only), BENCH_WARM_UP the records of each
service's warm-up flood (0: none), BENCH_FLOODS the floods of the passthrough and of each headline.
The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import localstack
from servicekit.kafka import ensure_topics
from throughput import journey, relay, services

RECORDS = int(os.environ.get("BENCH_RECORDS", 20_000))
MENTORS = int(os.environ.get("BENCH_MENTORS", 2_000))
MENTEES = int(os.environ.get("BENCH_MENTEES", 4_000))
RATE = float(os.environ.get("BENCH_RATE", 50))
# The services of part 2, all by default (BENCH_SERVICES=notifications,sessions measures those only).
SERVICES = [
    name for name in os.environ.get("BENCH_SERVICES", ",".join(services.MAIN_EVENTS)).split(",") if name
]
# How many processes of each service part 2 runs, in turn: one, then the Helm chart's two replicas
# (`serviceDefaults.replicas`, the autoscaler's minimum), one consumer group over both.
REPLICAS = sorted({int(n) for n in os.environ.get("BENCH_REPLICAS", "1,2").split(",") if n})
# Before a service's measured floods, one of its headline shape that is not counted, as the
# passthrough gets one: the store is a JVM, which compiles the paths a service's writes take during
# its first floods, on the cores the service needs. Matching's floods (two replicas, 20,000
# records) one after another on one store: its C2 compiler threads took 2.79 s of CPU in the
# first, 0.76 s in the second, 0.16-0.39 s in each of the three after; the floods measured here
# came first or second on their store. A store serving for days has compiled them long since.
WARM_UP = int(os.environ.get("BENCH_WARM_UP", RECORDS))
# The passthrough and each service's headline shape are measured in this many floods, and the
# median flood is the figure (its CPU with it; every flood is printed and kept). One flood lasts a
# few seconds, and on a shared 2-core machine its pace moves with whatever else runs: five `make
# bench` runs of matching's code of one day (one flood each) gave its two replicas ratios of 0.215,
# 0.197, 0.219, 0.197 and 0.219; in one slow run every process spent more CPU per record, Kafka's
# 0.024-0.037 ms where the other runs' spent 0.014-0.029 on the same floods. And the first
# passthrough flood after the warm-up one was the slowest of three in each of four runs (18,427-
# 19,147 records/s against 19,503-20,583): a baseline of one flood was a low one. The 1-process
# shape is measured once.
FLOODS = max(1, int(os.environ.get("BENCH_FLOODS", 3)))
T = TypeVar("T", bound=tuple[Any, ...])  # a flood's figures, records/s first


def _cpu_line(ms_per_item: dict[str, float], item: str = "record") -> str:
    return f"CPU ms/{item}: " + ", ".join(f"{name} {ms:.3f}" for name, ms in ms_per_item.items())


def median_flood(floods: list[T]) -> T:
    """The flood of median pace (`floods` hold records/s first); of an even number, the slower of
    the middle two."""
    return sorted(floods, key=lambda flood: flood[0])[(len(floods) - 1) // 2]


def _replicas(replicas: int) -> str:
    return f"{replicas} {'replica' if replicas == 1 else 'replicas'}"


async def _warm_up(
    name: str, bootstrap: str, mongo_url: str, work: Path, servers: dict[str, int], passthrough: float
) -> dict[str, Any] | None:
    """The service's flood that is not counted (`WARM_UP`), in its headline shape; its figures."""
    if WARM_UP <= 0:
        return None
    replicas = REPLICAS[-1]
    per_s, _, _ = await services.service_pace(
        name, bootstrap, mongo_url, WARM_UP, work, servers, replicas=replicas
    )
    print(
        f"{name:<13}: {per_s:8.0f} records/s  ratio {per_s / passthrough:.3f} with {_replicas(replicas)}, "
        "warming up (not counted)"
    )
    return {
        "records": WARM_UP,
        "replicas": replicas,
        "per_s": round(per_s),
        "ratio": round(per_s / passthrough, 3),
    }


async def _shape(
    name: str,
    replicas: int,
    bootstrap: str,
    mongo_url: str,
    work: Path,
    servers: dict[str, int],
    passthrough: float,
    rss: dict[str, float],
) -> dict[str, Any]:
    """The service's figures as `replicas` processes: of its median flood, with every flood's
    for the headline shape (`FLOODS` of them)."""
    headline = replicas == REPLICAS[-1] and FLOODS > 1
    measured = []
    for flood in range(1, (FLOODS if headline else 1) + 1):
        measured.append(
            await services.service_pace(name, bootstrap, mongo_url, RECORDS, work, servers, replicas=replicas)
        )
        if headline:
            per_s, _, cpu = measured[-1]
            ratio = per_s / passthrough
            print(
                f"{name:<13}: {per_s:8.0f} records/s  ratio {ratio:.3f} with {_replicas(replicas)}, "
                f"flood {flood} of {FLOODS}; CPU ms/record in all {sum(cpu.values()):.3f}"
            )
    per_s, memory, cpu = median_flood(measured)
    rss.setdefault(name, memory)
    print(
        f"{name:<13}: {per_s:8.0f} records/s  ratio {per_s / passthrough:.3f} (target >= 0.20) "
        f"with {_replicas(replicas)}{f' (median of {FLOODS} floods)' if headline else ''}; "
        f"{_cpu_line(cpu)} (all: {sum(cpu.values()):.3f})"
    )
    floods = [{"per_s": round(pace), "ratio": round(pace / passthrough, 3)} for pace, _, _ in measured]
    return {
        "per_s": round(per_s),
        "ratio": round(per_s / passthrough, 3),
        "cpu_ms_per_record": cpu,
        **({"floods": floods} if headline else {}),
    }


async def main(
    bootstrap: str, mongo_url: str, work: Path, rss: dict[str, float], servers: dict[str, int]
) -> dict[str, Any]:
    await ensure_topics(bootstrap)
    passthroughs = await services.passthrough(bootstrap, RECORDS, work, servers, floods=FLOODS)
    passthrough, loop_cpu = median_flood(passthroughs)
    cores = os.cpu_count() or 1
    budget = 1000 * cores / (0.20 * passthrough)
    floods = ", ".join(f"{per_s:.0f}" for per_s, _ in passthroughs)
    print(
        f"passthrough  : {passthrough:8.0f} records/s (raw aiokafka consume -> produce acks=all -> commit; "
        f"median of {FLOODS} floods: {floods}); {_cpu_line(loop_cpu)}; at ratio 0.20 the {cores} cores "
        f"allow {budget:.3f} ms/record in all"
    )
    per_service: dict[str, dict[str, Any]] = {}
    for name in SERVICES:
        warm_up = await _warm_up(name, bootstrap, mongo_url, work, servers, passthrough)
        shapes: dict[str, dict[str, Any]] = {}
        for replicas in REPLICAS:
            shapes[str(replicas)] = await _shape(
                name, replicas, bootstrap, mongo_url, work, servers, passthrough, rss
            )
        # The headline is the last shape measured: the chart's two replicas by default.
        per_service[name] = {
            **shapes[str(REPLICAS[-1])],
            "replicas": REPLICAS[-1],
            "by_replicas": shapes,
            **({"warm_up": warm_up} if warm_up else {}),
        }
    relayed = await relay.relay_against_direct(bootstrap, mongo_url, RECORDS)
    print(
        f"outbox relay : {relayed['per_s']:8.0f} events/s; direct publish (FastStream) "
        f"{relayed['direct_per_s']:.0f}/s; ratio {relayed['ratio']:.3f} (target >= 0.50); the relay's "
        f"producer alone {relayed['raw_per_s']:.0f}/s, ratio {relayed['raw_ratio']:.3f}"
    )
    trip = await journey.run(
        bootstrap, mongo_url, work, mentors=MENTORS, mentees=MENTEES, rate=RATE, rss=rss, servers=servers
    )
    spent = trip["cpu_ms_per_mentee"]
    print(
        f"journey      : {trip['paired']}/{trip['mentees']} mentees paired; registration -> PairCreated "
        f"p50 {trip['pair_p50_s']} s p95 {trip['pair_p95_s']} s p99 {trip['pair_p99_s']} s (target <= 2); "
        f"-> notification readable p50 {trip['notify_p50_s']} s p99 {trip['notify_p99_s']} s (target <= 3); "
        f"{_cpu_line(spent, 'mentee')} (all: {sum(spent.values()):.1f}; at {RATE:g}/s the "
        f"{cores} cores allow {1000 * cores / RATE:.0f})"
    )
    return {
        "passthrough_per_s": round(passthrough),
        "passthrough_floods": [round(per_s) for per_s, _ in passthroughs],
        "passthrough_cpu_ms_per_record": loop_cpu,
        "cpu_ms_per_record_allowed_at_target": round(budget, 3),
        "services": per_service,
        "relay": {
            "per_s": relayed["per_s"],
            "ratio": relayed["ratio"],
            "direct_per_s": relayed["direct_per_s"],
            "raw_per_s": relayed["raw_per_s"],
            "raw_ratio": relayed["raw_ratio"],
        },
        "journey": trip,
    }


if __name__ == "__main__":
    localstack.interrupt_on_sigterm()  # a stopped bench stops the servers and services it started
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        mongo_url = os.environ.get("MONGODB_URL")
        servers: list[localstack.ManagedServer] = []
        if not bootstrap:
            kafka = localstack.KafkaServer(work / "kafka")
            stack.callback(kafka.stop)
            kafka.start()
            servers.append(kafka)
            bootstrap = kafka.bootstrap_servers
        if not mongo_url:
            store = localstack.MongoStore(work / "store", long_running=True)
            stack.callback(store.stop)
            store.start()
            servers.append(store)
            mongo_url = store.url
        rss: dict[str, float] = {}
        pids = {server.name: pid for server in servers if (pid := server.pid()) is not None}
        figures = asyncio.run(main(bootstrap, mongo_url, work, rss, pids))
        for server in servers:
            pid = server.pid()
            if pid is not None:
                rss[server.name] = services.rss_mb(pid)
        rss["bench"] = services.rss_mb(os.getpid())
        print("memory (RSS MB): " + ", ".join(f"{name} {mb:.0f}" for name, mb in rss.items()))
        print(json.dumps({**figures, "rss_mb": {name: round(mb) for name, mb in rss.items()}}))
