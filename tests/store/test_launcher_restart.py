"""Our store launcher with its H2 file backend (what `make run` and the simulation use): killed with
-9 after many collections and indexes came and went, it starts again with every acknowledged write.
(The default simulation found a restart that failed once a database held more than 101 collections.)"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from localstack import MongoStore
from pymongo import AsyncMongoClient


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
