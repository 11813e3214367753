"""Compare versions or settings of one service on its flood (part 2 of `make bench`), alternated on
one broker and one store: which handles more records per second, at what CPU per record.

Figures of `make bench` runs minutes apart move by 10-20% with the machine's other tenants, more
than most changes are worth. Here the variants take turns seconds apart on the same servers, after
a warm-up round that is not counted, in the order A B, B A, A B, ... (neither always goes first,
after the other has warmed the store), and each round's figures are compared with each other:
the medians of those paired ratios say more than any single run.

Usage: python benchmarks/compare.py [--replicas N] SERVICE ROUNDS RECORDS VARIANT [VARIANT ...]
`--replicas N`: the service runs as N processes in one consumer group (the benchmark's headline
runs 2), and its CPU per record is theirs together.
A VARIANT is a Python interpreter, `-` for this checkout's, or another worktree's
(`git worktree add ../base HEAD~1`, `uv sync` there, then `../base/.venv/bin/python`), followed by
the settings it runs with, comma-separated: `-,CONSUMER_LANES=1` `-,CONSUMER_LANES=2`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import localstack
from servicekit.kafka import ensure_topics
from throughput import services


@dataclass
class Variant:
    text: str
    python: str
    settings: dict[str, str]
    per_s: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the service's own, per record
    all_ms: list[float] = field(default_factory=list)  # every process's (servers and bench too)

    @classmethod
    def parse(cls, text: str) -> Variant:
        python, *settings = text.split(",")
        pairs = dict(setting.split("=", 1) for setting in settings)
        return cls(text, sys.executable if python == "-" else python, pairs)


@dataclass(frozen=True)
class Servers:
    bootstrap: str
    mongo_url: str
    work: Path
    pids: dict[str, int]  # name -> pid, for their CPU per record


async def _run(
    variant: Variant, name: str, records: int, servers: Servers, replicas: int
) -> tuple[float, float, float]:
    per_s, _, cpu = await services.service_pace(
        name,
        servers.bootstrap,
        servers.mongo_url,
        records,
        servers.work,
        servers.pids,
        python=variant.python,
        settings=variant.settings,
        replicas=replicas,
    )
    own = sum(cpu[process] for process in services.process_names(name, replicas))
    return per_s, own, sum(cpu.values())


async def compare(
    name: str, rounds: int, records: int, variants: list[Variant], servers: Servers, replicas: int = 1
) -> None:
    await ensure_topics(servers.bootstrap)
    order = list(range(len(variants)))
    for round_ in range(-1, rounds):  # round -1 warms the servers up and is not counted
        if round_ > 0:
            order.reverse()
        for index in order:
            variant = variants[index]
            per_s, cpu_ms, all_ms = await _run(variant, name, records, servers, replicas)
            if round_ >= 0:
                variant.per_s.append(per_s)
                variant.cpu_ms.append(cpu_ms)
                variant.all_ms.append(all_ms)
            label = "warm-up" if round_ < 0 else f"round {round_ + 1}"
            print(
                f"{label:>8} {index}: {per_s:7.0f} records/s, {name} {cpu_ms:.3f} ms/record, "
                f"all processes {all_ms:.3f}",
                flush=True,
            )
    first = variants[0]
    for index, variant in enumerate(variants):
        line = (
            f"{index} {variant.text}: median {statistics.median(variant.per_s):.0f} records/s, "
            f"{statistics.median(variant.cpu_ms):.3f} ms/record "
            f"(all processes {statistics.median(variant.all_ms):.3f})"
        )
        if index:
            rates = [mine / theirs for mine, theirs in zip(variant.per_s, first.per_s, strict=True)]
            cpus = [mine / theirs for mine, theirs in zip(variant.cpu_ms, first.cpu_ms, strict=True)]
            alls = [mine / theirs for mine, theirs in zip(variant.all_ms, first.all_ms, strict=True)]
            line += (
                f"; against 0, round by round: records/s x{statistics.median(rates):.3f} "
                f"({', '.join(f'{r:.2f}' for r in rates)}), CPU per record x{statistics.median(cpus):.3f} "
                f"(all processes x{statistics.median(alls):.3f})"
            )
        print(line)


def main() -> None:
    args, replicas = sys.argv[1:], 1
    if args[:1] == ["--replicas"] and len(args) > 1 and args[1].isdigit():
        args, replicas = args[2:], int(args[1])
    if len(args) < 4 or args[0] not in services.MAIN_EVENTS or replicas < 1:
        sys.exit(__doc__)
    name, rounds, records = args[0], int(args[1]), int(args[2])
    variants = [Variant.parse(text) for text in args[3:]]
    localstack.interrupt_on_sigterm()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="compare-")))
        kafka = localstack.KafkaServer(work / "kafka")
        stack.callback(kafka.stop)
        kafka.start()
        store = localstack.MongoStore(work / "store", long_running=True)
        stack.callback(store.stop)
        store.start()
        pids = {server.name: pid for server in (kafka, store) if (pid := server.pid()) is not None}
        servers = Servers(kafka.bootstrap_servers, store.url, work, pids)
        asyncio.run(compare(name, rounds, records, variants, servers, replicas))


if __name__ == "__main__":
    main()
