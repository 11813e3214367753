"""MongoDB access through PyMongo's native async API (`AsyncMongoClient`).

Motor is deprecated and past its bug-fix support; PyMongo Async is its official successor. Code
stays within what FerretDB 1.x supports: no transactions, change streams, TTL or partial indexes.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient


def create_mongo_client(url: str, *, app_name: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        url,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        # FerretDB speaks no retryable writes; our writes are idempotent by design instead.
        retryWrites=False,
    )


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True
