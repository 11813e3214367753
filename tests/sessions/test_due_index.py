"""The time-partitioned due index on the real store: a sweep reads only partitions whose time has
come, finds what was added since it listed them, and old empty partitions are dropped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.due_index import TimePartitionedDueIndex

NOW = datetime(2030, 3, 4, 12, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def db(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    database = mongo[f"due_index_{uuid.uuid4().hex[:8]}"]
    yield database
    await mongo.drop_database(database.name)


async def test_only_due_entries_are_found_oldest_first(db: AsyncDatabase[dict[str, Any]]) -> None:
    index = TimePartitionedDueIndex(db, "due", width=timedelta(hours=6))
    await index.put("late", NOW - 30 * HOUR, {"pair_id": "p1"}, now=NOW - 40 * HOUR)
    await index.put("just", NOW - HOUR, {"pair_id": "p2"}, now=NOW - 40 * HOUR)
    await index.put("soon", NOW + HOUR, {"pair_id": "p3"}, now=NOW - 40 * HOUR)
    await index.put("next-week", NOW + 7 * 24 * HOUR, {"pair_id": "p4"}, now=NOW - 40 * HOUR)
    found = await index.find_due(NOW, limit=10)
    assert [(e.key, e.payload) for e in found] == [("late", {"pair_id": "p1"}), ("just", {"pair_id": "p2"})]
    assert [e.key for e in await index.find_due(NOW, limit=1)] == ["late"]
    await index.remove(found[0])
    assert [e.key for e in await index.find_due(NOW, limit=10)] == ["just"]


async def test_an_entry_already_due_goes_into_the_partition_of_now(db: AsyncDatabase[dict[str, Any]]) -> None:
    index = TimePartitionedDueIndex(db, "due", width=HOUR)
    name = await index.put("overdue", NOW - 48 * HOUR, now=NOW)
    assert name == index.partition_name(NOW)
    assert [e.key for e in await index.find_due(NOW, limit=10)] == ["overdue"]


async def test_a_partition_created_after_the_listing_is_still_swept(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    index = TimePartitionedDueIndex(db, "due", width=HOUR)
    assert await index.find_due(NOW, limit=10) == []  # lists: nothing yet
    await index.put("new", NOW - timedelta(minutes=5), now=NOW - timedelta(minutes=10))
    assert [e.key for e in await index.find_due(NOW, limit=10)] == ["new"]
    await index.put("tomorrow", NOW + 24 * HOUR, now=NOW)
    assert [e.key for e in await index.find_due(NOW + 25 * HOUR, limit=10)] == ["new", "tomorrow"]


async def test_putting_again_moves_nothing_but_the_due_date(db: AsyncDatabase[dict[str, Any]]) -> None:
    index = TimePartitionedDueIndex(db, "due")
    await index.put("s", NOW + HOUR, {"pair_id": "p"}, now=NOW)
    await index.put("s", NOW + 2 * HOUR, {"pair_id": "p"}, now=NOW)
    found = await index.find_due(NOW + 3 * HOUR, limit=10)
    assert [(e.key, e.due_at) for e in found] == [("s", NOW + 2 * HOUR)]


async def test_empty_partitions_past_retention_are_dropped(db: AsyncDatabase[dict[str, Any]]) -> None:
    index = TimePartitionedDueIndex(db, "due", width=timedelta(days=1), retention=timedelta(days=2))
    await index.put("old", NOW - 5 * 24 * HOUR, now=NOW - 5 * 24 * HOUR)
    await index.put("still-there", NOW - 4 * 24 * HOUR, now=NOW - 4 * 24 * HOUR)
    await index.put("recent", NOW - 24 * HOUR, now=NOW - 24 * HOUR)
    for entry in await index.find_due(NOW, limit=10):
        if entry.key != "still-there":
            await index.remove(entry)
    assert await index.drop_drained(NOW) == 1
    names = [name for _, name in await index.partitions()]
    assert names == [index.partition_name(NOW - 4 * 24 * HOUR), index.partition_name(NOW - 24 * HOUR)]


def test_partition_width_must_divide_a_day() -> None:
    with pytest.raises(ValueError, match="divide a day"):
        TimePartitionedDueIndex(None, "due", width=timedelta(hours=5))  # type: ignore[arg-type]
