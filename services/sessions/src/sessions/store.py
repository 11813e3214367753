"""Sessions' collections: `sessions` (one document per meeting, with its outbox) and
`relationships` (one per pair)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


async def create_indexes(
    sessions: AsyncCollection[Document], relationships: AsyncCollection[Document]
) -> None:
    # The missed-session sweep reads only what is due through this index.
    await sessions.create_index([("status", ASCENDING), ("ends_at", ASCENDING)], name="status_ends_at")
    await sessions.create_index(
        [("org_id", ASCENDING), ("pair_id", ASCENDING), ("starts_at", DESCENDING)],
        name="org_pair_starts",
    )
    await relationships.create_index([("org_id", ASCENDING)], name="org")


def find_due_sessions(sessions: AsyncCollection[Document], cutoff: datetime, limit: int) -> Any:
    """Scheduled sessions whose end is at or before `cutoff`, oldest first."""
    return sessions.find(
        {"status": "scheduled", "ends_at": {"$lte": cutoff}},
        sort=[("ends_at", ASCENDING)],
        limit=limit,
    )


async def earlier_statuses(
    sessions: AsyncCollection[Document], session: Document, limit: int = 50
) -> list[str]:
    cursor = sessions.find(
        {
            "org_id": session["org_id"],
            "pair_id": session["pair_id"],
            "starts_at": {"$lt": session["starts_at"]},
        },
        {"status": 1},
        sort=[("starts_at", DESCENDING)],
        limit=limit,
    )
    return [doc["status"] async for doc in cursor]
