"""MongoDB access through PyMongo's native async API (`AsyncMongoClient`).

Motor is deprecated and past its bug-fix support; PyMongo Async is its official successor.

The services are written for MongoDB, and run locally and in tests on an emulator,
mongo-java-server (`deploy/local/mongo`). This is the one place that says what the emulator does
not do, and so what the code keeps away from:
- no multi-document transactions and no change streams: a change and its events are one
  single-document write (the outbox), and time-driven work comes from sweeps;
- non-unique indexes are accepted and ignored out of the box: a query on a field other than `_id`
  or a unique index scans its collection in memory. Our launcher's memory backend (tests, CI,
  benchmarks) keeps them, for equality only: a query with a plain value for every key of such an
  index (or, for one key, an `$in` of plain values) reads the documents filed under those
  values, through the index that files the fewest of them; an aggregation that starts with such
  a `$match` (`count_documents`) reads the same way. A range or null still scans, and so does
  every such query on the H2 file backend (`make run`, the simulation). The services create every
  index a MongoDB deployment needs; hot paths read by `_id` (a mentee's seats have numbered ids,
  a batch's aggregates are read with `$in`: `servicekit.grouped`) or by an indexed field's
  values in groups (a batch's mentors' seats), or keep their read sets small (`due_index`). Two
  more gaps our launcher closes, as MongoDB behaves: out of
  the box a query that names `_id` AND another field (every conditional write) scanned the
  collection, and a query without a batch size came back in one reply however large (past 48 MB
  the driver refuses it); and it matched every document an `_id: {$in: [...]}` found against the
  whole list again (a batch's read of n ids cost n x n comparisons). A third: out of the box a
  read answered with the stored documents and encoded them after letting go of the lock, so a
  write adding or removing a field of one of them on another connection broke the encoding and
  the emulator closed the reader's connection (`AutoReconnect: connection closed`); our finds
  answer with copies;
- the memory backend reports no data sizes (collStats, dbStats): keeping them encoded every
  written document to BSON, a third of the store's time; nothing of ours reads them;
- no TTL indexes (pruning is explicit) and no retryable writes (our writes are idempotent);
- an unordered insert that meets duplicates counts every document as inserted (`nInserted`): the
  services read only which writes failed and their codes.
What the services do rely on is pinned by `tests/store`, against whichever server the suite uses.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from pymongo import AsyncMongoClient


def create_mongo_client(
    url: str, *, app_name: str, timeout_ms: int = 5_000
) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        url,
        appname=app_name,
        tz_aware=True,
        # How long a request waits for an unreachable store before it is answered 503.
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        # The emulator (and a standalone mongod) has no retryable writes; ours are idempotent.
        retryWrites=False,
    )


def in_one_reply(ids: Sized) -> int:
    """The batch size that brings a read by `ids` (at most a document each) whole in the find's own
    reply, its cursor closed: one more than the ids. The default first batch holds 101 documents
    and larger reads come in getMore after getMore; a batch exactly as large as what is found
    leaves MongoDB's cursor open, since only a scan past the last document proves there is no
    more (MongoDB's jstests: "exactly 10 matching documents, but there is no limit, so we must
    finish the scan"), and the driver then asks again for nothing."""
    return len(ids) + 1


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True
