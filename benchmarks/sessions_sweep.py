"""`make bench-sessions`: the missed-session sweep's read, with 100,000 and 1,000,000 sessions stored.

Sessions are stored the way the service stores them: embedded in their relationship document
(`SESSIONS_PER_PAIR` each), and each scheduled session has an entry in the time-partitioned due
index (`due_sessions_<hour>`). Of the stored sessions, `DUE` ended in the last hours (due now); the
rest are spread over the coming `SPREAD_DAYS` days. The figure is the time the sweep takes to find
the due ones (`find_due`, as the service's sweep calls it), the median of `ROUNDS` cold rounds
(each lists the partitions first, as a replica does at start); the 100,000 case is
the baseline the 1,000,000 case is compared with. Insert times are printed too.

Servers: `MONGODB_URL` if set, else the local store on a free port. Override the sizes with
`BENCH_SESSIONS_STORED=100000,1000000`; the partition width is the service's setting
(`SESSION_DUE_PARTITION_HOURS`). The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "local"))

import localstack
from sessions.app import SessionsSettings, build
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipKind
from sessions.handlers import sweep_missed_sessions
from sessions.store import RELATIONSHIPS, session_due_index

DUE = 1000
SESSIONS_PER_PAIR = 20
SPREAD_DAYS = 365
ROUNDS = 3
# Due sessions then turned into SessionMissed, to show the per-session write cost.
PROCESS = int(os.environ.get("BENCH_SESSIONS_PROCESS", 3))
BATCH = 10_000


def _session(pair_id: str, n: int, ends_at: datetime) -> dict[str, Any]:
    return {
        "session_id": f"{pair_id}-s{n}",
        "seq": n + 1,
        "kind": "cadence",
        "index": n,
        "starts_at": ends_at - timedelta(hours=1),
        "ends_at": ends_at,
        "status": "scheduled",
        "location": None,
        "facilitator_id": None,
        "agenda": [],
        "feedback": {},
        "reschedules": [],
        "sequence": 0,
        "version": 1,
    }


async def bench_case(mongo_url: str, stored: int) -> dict[str, Any]:
    settings = SessionsSettings(
        mongodb_url=mongo_url, mongodb_database_prefix=f"bench_{uuid.uuid4().hex[:6]}_"
    )
    runtime, sessions = build(settings)  # not started: the sweep needs only the store
    db = runtime.db
    width = timedelta(hours=settings.session_due_partition_hours)
    due_index = session_due_index(db, width)
    now = datetime.now(UTC).replace(microsecond=0)
    pairs = max(1, stored // SESSIONS_PER_PAIR)
    future = stored - DUE
    # Session i belongs to pair i % pairs. The first DUE ended within the last 3 hours (due now);
    # the rest are spread over the coming SPREAD_DAYS days.
    ends = [now - timedelta(seconds=1 + i * 10) for i in range(DUE)]
    step = SPREAD_DAYS * 86400 / max(future, 1)
    ends += [now + timedelta(hours=2, seconds=i * step) for i in range(future)]

    started = time.perf_counter()
    relationships = db[RELATIONSHIPS]
    batch: list[dict[str, Any]] = []
    for p in range(pairs):
        pair_id = f"pair-{p}"
        document = Relationship.draft(
            relationship_id=pair_id,
            org_id="bench",
            program_id="bench",
            kind=RelationshipKind.PAIR,
            participant_ids=["mentee", "mentor"],
            started_at=now - timedelta(days=30),
            policy=sessions.policy,
            mentor_id="mentor",
            mentee_id="mentee",
        ).to_document()
        document["agreement"]["signed_at"] = now - timedelta(days=29)
        document["sessions"] = [_session(pair_id, n, ends[i]) for n, i in enumerate(range(p, stored, pairs))]
        batch.append(document)
        if len(batch) * SESSIONS_PER_PAIR >= BATCH:
            await relationships.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await relationships.insert_many(batch, ordered=False)
    relationships_seconds = time.perf_counter() - started

    started = time.perf_counter()
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for i, ends_at in enumerate(ends):
        pair_id = f"pair-{i % pairs}"
        name = due_index.partition_name(ends_at)
        by_partition.setdefault(name, []).append(
            {"_id": f"{pair_id}-s{i // pairs}", "due_at": ends_at, "pair_id": pair_id}
        )
    for name, entries in by_partition.items():
        for b in range(0, len(entries), BATCH):
            await db[name].insert_many(entries[b : b + BATCH], ordered=False)
    index_seconds = time.perf_counter() - started

    # Cold: a fresh index object each round, so the figure includes listing the partitions (what
    # a replica does at start and every few minutes). Warm: the steady state between listings.
    timings = []
    found = 0
    for _ in range(ROUNDS):
        fresh = session_due_index(db, width)
        started = time.perf_counter()
        entries_found = await fresh.find_due(now, limit=10 * DUE)
        timings.append(time.perf_counter() - started)
        found = len(entries_found)
    warm = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        assert len(await fresh.find_due(now, limit=10 * DUE)) == found
        warm.append(time.perf_counter() - started)
    # Then act on some of them the way the service does (read the pair, one conditional write with
    # SessionMissed in its outbox): this part goes through the relationships collection.
    process_cutoff = now + sessions.policy.grace
    started = time.perf_counter()
    processed = await sweep_missed_sessions(sessions, process_cutoff, PROCESS)
    process_seconds = time.perf_counter() - started
    await runtime.mongo.drop_database(db.name)
    await runtime.mongo.close()
    return {
        "stored": stored,
        "due": DUE,
        "seconds": round(sorted(timings)[len(timings) // 2], 4),
        "found": found,
        "_insert_relationships_seconds": round(relationships_seconds, 1),
        "_insert_due_index_seconds": round(index_seconds, 1),
        "_partitions": len(by_partition),
        "_partition_hours": width / timedelta(hours=1),
        "_rounds": [round(t, 4) for t in timings],
        "_warm_seconds": round(min(warm), 4),
        "_processed": processed,
        "_process_seconds": round(process_seconds, 2),
    }


async def main_async(mongo_url: str) -> list[dict[str, Any]]:
    sizes = [int(s) for s in os.environ.get("BENCH_SESSIONS_STORED", "100000,1000000").split(",")]
    cases = []
    for stored in sizes:
        case = await bench_case(mongo_url, stored)
        print(
            f"stored={case['stored']:>9,} due={case['due']:,} found={case['found']:,} "
            f"sweep find={case['seconds']:.3f}s (median of cold rounds {case['_rounds']}; "
            f"warm {case['_warm_seconds']:.3f}s) "
            f"partitions={case['_partitions']} of {case['_partition_hours']:g} h; insert: relationships "
            f"{case['_insert_relationships_seconds']}s, due index {case['_insert_due_index_seconds']}s; "
            f"then {case['_processed']} SessionMissed written in {case['_process_seconds']}s",
            flush=True,
        )
        cases.append(case)
    return cases


def main() -> None:
    with ExitStack() as stack:
        mongo_url = os.environ.get("MONGODB_URL")
        if not mongo_url:
            store = localstack.MongoStore(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            stack.callback(store.stop)
            store.start()
            mongo_url = store.url
        cases = asyncio.run(main_async(mongo_url))
    print("side by side:")
    print(f"  {'stored':>10} {'due':>6} {'found':>6} {'seconds':>8}")
    for case in cases:
        print(f"  {case['stored']:>10,} {case['due']:>6,} {case['found']:>6,} {case['seconds']:>8.3f}")
    print(json.dumps({"cases": [{k: c[k] for k in ("stored", "due", "seconds", "found")} for c in cases]}))


if __name__ == "__main__":
    main()
