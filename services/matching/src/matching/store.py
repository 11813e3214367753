"""Matching's collections: `candidates` (its read model of people, one document per person and
role, mentee documents carrying the outbox with PairCreated)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


def candidate_key(org_id: str, person_id: str, role: str) -> str:
    return f"{org_id}:{person_id}:{role}"


async def create_indexes(candidates: AsyncCollection[Document]) -> None:
    await candidates.create_index(
        [("org_id", ASCENDING), ("role", ASCENDING), ("status", ASCENDING)], name="org_role_status"
    )
    await candidates.create_index([("org_id", ASCENDING), ("pair.pair_id", ASCENDING)], name="org_pair")
