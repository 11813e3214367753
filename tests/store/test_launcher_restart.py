"""Our store launcher with its H2 file backend (what `make run` and the simulation use): killed with
-9 after many collections and indexes came and went, it starts again with every acknowledged write.
(The default simulation found a restart that failed once a database held more than 101 collections.)
Killed in the middle of concurrent writes, it starts again with every document under its _id index
(the default simulation found a document its index had lost: a commit had landed mid-write)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from localstack import MongoStore
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure


def _kill(store: MongoStore) -> None:
    pid = store.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    while store.is_running():
        time.sleep(0.05)


@pytest.mark.skipif(bool(os.environ.get("MONGODB_URL")), reason="tests our launcher, not a MongoDB")
async def test_a_killed_file_store_starts_again_with_every_collection_and_write(tmp_path: Path) -> None:
    store = MongoStore(tmp_path / "store", persistent=True)
    store.start()
    try:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store.url)
        database = client["restart"]
        for n in range(200):  # like a year of daily due-date partitions, each with its index
            await database[f"due_{n:03d}"].create_index("due_at")
            await database[f"due_{n:03d}"].insert_one({"_id": n, "due_at": n})
        for n in range(0, 200, 3):
            await database.drop_collection(f"due_{n:03d}")
        await client.close()
        await asyncio.to_thread(_kill, store)
        store.start()
        client = AsyncMongoClient(store.url)
        names = sorted(await client["restart"].list_collection_names())
        assert names == [f"due_{n:03d}" for n in range(200) if n % 3 != 0]
        assert await client["restart"]["due_199"].find_one({"_id": 199}) == {"_id": 199, "due_at": 199}
        await client.close()
    finally:
        store.stop()


async def _write_until(url: str, writer: int, stop: asyncio.Event) -> None:
    """Insert and update documents until told to stop; the store dying under it is expected."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, serverSelectionTimeoutMS=2000)
    collection = client["killed"][f"c{writer % 4}"]
    n = 0
    try:
        while not stop.is_set():
            n += 1
            key = f"{writer}-{n}"
            with contextlib.suppress(ConnectionFailure, OperationFailure):
                await collection.insert_one({"_id": key, "n": n, "pad": "x" * 200})
                await collection.update_one({"_id": key}, {"$set": {"seen": True}})
    finally:
        await client.close()


async def _documents_their_id_index_lacks(url: str) -> list[str]:
    """Insert every stored document's _id again: each must be refused as a duplicate (11000); a
    document the _id index lost is refused by an assertion instead (or inserted twice)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    lacking: list[str] = []
    try:
        for name in await client["killed"].list_collection_names():
            collection = client["killed"][name]
            ids = [doc["_id"] async for doc in collection.find({}, {"_id": 1})]
            if not ids:
                continue
            try:
                await collection.insert_many([{"_id": key} for key in ids], ordered=False)
                lacking += [f"{name}: every id inserted again"]
            except BulkWriteError as error:
                errors = error.details["writeErrors"]
                lacking += [
                    f"{name}/{ids[e['index']]}: {e.get('errmsg', '')[:80]}"
                    for e in errors
                    if e.get("code") != 11000
                ]
            # (the emulator's nInserted counts duplicates too: count instead)
            if (after := await collection.count_documents({})) != len(ids):
                lacking += [f"{name}: {after - len(ids)} ids inserted again"]
    finally:
        await client.close()
    return lacking


@pytest.mark.skipif(bool(os.environ.get("MONGODB_URL")), reason="tests our launcher, not a MongoDB")
async def test_a_file_store_killed_during_concurrent_writes_keeps_every_document_under_its_id(
    tmp_path: Path,
) -> None:
    store = MongoStore(tmp_path / "store", persistent=True)
    store.start()
    try:
        for round_ in range(4):
            stop = asyncio.Event()
            writers = [asyncio.create_task(_write_until(store.url, n, stop)) for n in range(48)]
            await asyncio.sleep(0.6 + 0.15 * round_)  # a different moment of the writes each round
            await asyncio.to_thread(_kill, store)
            stop.set()
            await asyncio.gather(*writers)
            store.start()
            assert await _documents_their_id_index_lacks(store.url) == [], f"after kill {round_ + 1}"
    finally:
        store.stop()
