"""Grouped round trips on the real store: within `grouping()` many callers share one command, and
each still learns its own outcome: a conditional update that lost says so, a duplicate key is
raised to its own caller only, and two replicas' changes of one aggregate are both kept."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from servicekit.aggregates import AggregateStore
from servicekit.grouped import Grouped, grouping

from tests.conftest import Infra
from tests.servicekit.test_aggregates import Mentor, RecordingOutbox


@pytest.fixture
async def collection(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    database = mongo[f"test_grouped_{uuid.uuid4().hex[:8]}"]
    try:
        yield database["items"]
    finally:
        await mongo.drop_database(database.name)


class CountingCollection:
    """The collection, counting the commands sent through it."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection
        self.commands: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in {"find", "find_one", "bulk_write", "update_one", "insert_one"}:
            self.commands.append(name)
        return getattr(self._collection, name)


async def test_grouped_updates_share_one_command_and_each_learns_whether_it_won(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    await collection.insert_many([{"_id": f"d{n}", "version": 1} for n in range(50)])
    counting = CountingCollection(collection)
    grouped = Grouped(counting)  # type: ignore[arg-type]
    with grouping():
        # Even documents are asked at their current version, odd ones at a stale one.
        outcomes = await asyncio.gather(
            *(
                grouped.update({"_id": f"d{n}", "version": 1 if n % 2 == 0 else 0}, {"$set": {"version": 2}})
                for n in range(50)
            )
        )
        found = await asyncio.gather(*(grouped.find_by_id(f"d{n}") for n in range(50)))
    assert outcomes == [n % 2 == 0 for n in range(50)]
    assert [doc["version"] if doc else None for doc in found] == [2 if n % 2 == 0 else 1 for n in range(50)]
    # One bulk write, one read-back of the group that missed, one read for the 50 finds.
    assert counting.commands.count("bulk_write") == 1
    assert counting.commands.count("find") == 2
    assert "update_one" not in counting.commands
    assert "find_one" not in counting.commands


async def test_grouped_reads_by_a_fields_value_share_one_find_per_query_and_each_gets_its_own(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    await collection.create_index([("org_id", 1), ("pair.mentor_id", 1)])
    await collection.insert_many(
        [
            {"_id": f"s{n}", "org_id": "acme", "status": "paired", "pair": {"mentor_id": f"m{n % 5}"}}
            for n in range(20)
        ]
        + [{"_id": "held", "org_id": "acme", "status": "held", "pair": {"mentor_id": "m1"}}]
        + [{"_id": "other-org", "org_id": "globex", "status": "paired", "pair": {"mentor_id": "m1"}}]
        + [{"_id": "two", "org_id": "acme", "status": "paired", "pair": {"mentor_id": ["m2", "m3", "m2"]}}]
    )
    counting = CountingCollection(collection)
    grouped = Grouped(counting)  # type: ignore[arg-type]
    paired, held = {"org_id": "acme", "status": "paired"}, {"org_id": "acme", "status": "held"}
    asked = [(paired, f"m{n}") for n in (0, 1, 2, 3, 1, 9)] + [(held, "m1"), (held, "m4")]
    with grouping():
        found = await asyncio.gather(*(grouped.find_where(q, "pair.mentor_id", m) for q, m in asked))
    alone = [[d async for d in collection.find({**q, "pair.mentor_id": m})] for q, m in asked]
    assert found == alone  # each caller's own documents, in the collection's order
    assert [[d["_id"] for d in docs] for docs in found][1] == ["s1", "s6", "s11", "s16"]
    assert found[5] == []
    assert [d["_id"] for d in found[6]] == ["held"]
    assert "two" in {d["_id"] for d in found[2]}
    assert "two" in {d["_id"] for d in found[3]}
    assert counting.commands.count("find") == 2  # one per shared query
    # Outside grouping, one find each.
    assert [d["_id"] for d in await grouped.find_where(held, "pair.mentor_id", "m1")] == ["held"]
    assert counting.commands.count("find") == 3
    # Several values for one caller: each document once, grouped with the single-value callers.
    with grouping():
        several, single = await asyncio.gather(
            grouped.find_where_any(paired, "pair.mentor_id", ["m2", "m3", "m9"]),
            grouped.find_where(paired, "pair.mentor_id", "m3"),
        )
    assert sorted(d["_id"] for d in several) == sorted(
        [f"s{n}" for n in range(20) if n % 5 in (2, 3)] + ["two"]
    )  # "two" holds m2 and m3: once
    assert {d["_id"] for d in single} == {"s3", "s8", "s13", "s18", "two"}
    assert counting.commands.count("find") == 4
    outside = await grouped.find_where_any(held, "pair.mentor_id", ["m1", "m4"])
    assert [d["_id"] for d in outside] == ["held"]
    assert counting.commands.count("find") == 5


async def test_a_duplicate_key_fails_only_its_own_insert_and_upserts_count_as_done(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    await collection.insert_one({"_id": "taken"})
    await collection.insert_one({"_id": "counted", "version": 3})
    grouped = Grouped(collection)
    with grouping():
        outcomes = await asyncio.gather(
            grouped.insert({"_id": "taken"}),
            grouped.insert({"_id": "fresh"}),
            grouped.upsert({"_id": "counted"}, {"$set": {"seen": True}}),
            grouped.upsert({"_id": "new"}, {"$set": {"seen": True}}),
            grouped.update({"_id": "counted", "version": 3}, {"$set": {"version": 4}}),
            return_exceptions=True,
        )
    assert isinstance(outcomes[0], DuplicateKeyError)
    assert outcomes[1:] == [None, None, None, True]
    stored = {doc["_id"]: doc async for doc in collection.find()}
    assert set(stored) == {"taken", "fresh", "counted", "new"}
    assert (stored["counted"]["version"], stored["counted"]["seen"]) == (4, True)


async def test_outside_grouping_each_call_is_its_own_command(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    await collection.insert_one({"_id": "a", "version": 1})
    counting = CountingCollection(collection)
    grouped = Grouped(counting)  # type: ignore[arg-type]
    assert await grouped.update({"_id": "a", "version": 1}, {"$set": {"version": 2}})
    assert not await grouped.update({"_id": "a", "version": 1}, {"$set": {"version": 3}})
    assert counting.commands == ["update_one", "update_one"]
    stored = await collection.find_one({"_id": "a"})
    assert stored is not None
    assert "write_ids" not in stored


async def test_two_replicas_changing_the_same_aggregates_in_groups_lose_no_change(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    here = AggregateStore(collection, Mentor, RecordingOutbox())
    there = AggregateStore(collection, Mentor, RecordingOutbox())  # another process
    for n in range(20):
        await here.create(Mentor(id=f"m{n}", org_id="acme", capacity=10))

    async def take(store: AggregateStore[Mentor], times: int) -> None:
        with grouping():
            for _ in range(times):
                await asyncio.gather(*(store.change(f"m{n}", lambda m: m.take_mentee()) for n in range(20)))

    await asyncio.gather(take(here, 5), take(there, 5))
    stored = [doc async for doc in collection.find()]
    assert sorted((doc["active"], doc["version"]) for doc in stored) == [(10, 10)] * 20


class _Commands(monitoring.CommandListener):
    """The names of the commands a client sends, and the batch size each find asks for."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.batch_sizes: list[int] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)
        if event.command_name == "find":
            self.batch_sizes.append(event.command.get("batchSize", 0))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_groups_read_comes_back_in_one_reply(
    infra: Infra, collection: AsyncCollection[dict[str, Any]]
) -> None:
    """Hundreds of documents read by id come back in the find's own reply: no getMore after it
    (a cursor's first reply holds 101 documents unless asked for more), grouped or not. Each find
    asks for more than it can find, so MongoDB closes its cursor (a batch exactly filled leaves
    it open, and the driver asks again: `servicekit.mongo.in_one_reply`)."""
    await collection.insert_many([{"_id": f"d{n}", "name": "x" * 200} for n in range(700)])
    commands = _Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, event_listeners=[commands])
    try:
        grouped = Grouped(client[collection.database.name][collection.name])
        with grouping():
            found = await asyncio.gather(*(grouped.find_by_id(f"d{n}") for n in range(0, 1000, 2)))
        assert [document["_id"] if document else None for document in found] == [
            f"d{n}" if n < 700 else None for n in range(0, 1000, 2)
        ]
        assert len(await grouped.find_by_ids([f"d{n}" for n in range(600)])) == 600
        assert commands.names == ["find", "find"]
        assert commands.batch_sizes == [501, 601]  # 500 ids (350 found), then 600 (all found)
    finally:
        await client.close()


# Python 3.12+ warns of any fork in a process with threads (the suite's event loops run some): the
# child here only writes to a pipe and leaves with os._exit, taking no lock another thread holds.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_write_ids_differ_within_a_process_and_a_forked_child_writes_under_a_prefix_of_its_own() -> None:
    from servicekit import grouped

    ids = [grouped._write_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(write_id) < 36 for write_id in ids[:100]), "shorter than the uuid4 they replace"
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next id, then out at once
        os.write(writer, grouped._write_id().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    in_child = os.read(reader, 100).decode()
    os.close(reader)
    mine = grouped._write_id()
    assert in_child not in ids
    assert in_child != mine
    assert in_child[:16] != mine[:16], "a forked child must not reuse its parent's prefix"
