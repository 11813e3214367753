"""What the consistency rules assume of the store: a conditional single-document update is atomic,
even with many writers. (FerretDB 1.x on its own loses concurrent updates; our launcher serialises
writes to make this hold locally.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pymongo import AsyncMongoClient

from tests.conftest import Infra


async def test_concurrent_increments_and_version_checks_never_lose_a_write(infra: Infra) -> None:
    clients: list[AsyncMongoClient[dict[str, Any]]] = [AsyncMongoClient(infra.mongodb_url) for _ in range(3)]
    collection_name = f"race_{uuid.uuid4().hex[:8]}"
    collections = [client["test_atomicity"][collection_name] for client in clients]
    try:
        await collections[0].insert_one({"_id": "doc", "count": 0, "version": 0})

        async def increment(collection: Any) -> None:
            for _ in range(60):
                await collection.update_one({"_id": "doc"}, {"$inc": {"count": 1}})

        await asyncio.gather(*(increment(c) for c in collections))
        won = 0

        async def compare_and_set(collection: Any) -> None:
            nonlocal won
            for _ in range(40):
                current = await collection.find_one({"_id": "doc"})
                result = await collection.update_one(
                    {"_id": "doc", "version": current["version"]},
                    {"$set": {"version": current["version"] + 1}},
                )
                won += result.modified_count

        await asyncio.gather(*(compare_and_set(c) for c in collections))
        final = await collections[0].find_one({"_id": "doc"})
        assert final is not None
        assert final["count"] == 180, "an increment was lost"
        assert final["version"] == won, "two writers both won the same version"
    finally:
        await collections[0].drop()
        for client in clients:
            await client.close()
