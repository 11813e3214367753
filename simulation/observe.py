"""What the checks read: every service's store directly (PyMongo) and every topic from the start
(aiokafka), plus each consumer group's lag."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from mentorship_schemas.topics import all_topic_names
from pymongo import AsyncMongoClient

Document = dict[str, Any]
SERVICE_NAMES = ("profiles", "matching", "sessions", "notifications")
LEDGER = "processed_events"  # event ids only: nothing about a person


@dataclass(frozen=True)
class Record:
    topic: str
    type: str  # the event name, e.g. PairCreated
    event_id: str
    data: Document
    headers: dict[str, str]


@dataclass
class Snapshot:
    """Every document of every service (by "<service>.<collection>") and every record of every topic."""

    documents: dict[str, list[Document]] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    lag: dict[str, int] = field(default_factory=dict)  # "<group> <topic>" -> records not yet consumed
    pending_outbox: dict[str, int] = field(default_factory=dict)  # "<service>.<collection>" -> documents

    def collection(self, service: str, name: str) -> list[Document]:
        return self.documents.get(f"{service}.{name}", [])

    def events(self, name: str) -> list[Record]:
        return [record for record in self.records if record.type == name]


async def read_stores(mongodb_url: str, prefix: str) -> tuple[dict[str, list[Document]], dict[str, int]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_url, tz_aware=True)
    documents: dict[str, list[Document]] = {}
    pending: dict[str, int] = {}
    try:
        for service in SERVICE_NAMES:
            database = client[f"{prefix}{service}"]
            for name in await database.list_collection_names():
                if name == LEDGER:
                    continue
                found = [doc async for doc in database[name].find({})]
                documents[f"{service}.{name}"] = found
                waiting = sum(1 for doc in found if doc.get("outbox"))
                if waiting:
                    pending[f"{service}.{name}"] = waiting
    finally:
        await client.close()
    return documents, pending


async def read_topics(
    bootstrap: str,
    topics: list[str],
    timeout: float = 60.0,
    until: dict[TopicPartition, int] | None = None,
) -> list[Record]:
    """Every record of `topics`, from the beginning to the offsets `until` (by default the end
    offsets at the time of the call)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Record] = []
    try:
        partitions = _partitions(topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = until if until is not None else await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topics} to their end in {timeout}s")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, messages in batch.items():
                records.extend(_record(tp.topic, m.value, m.headers) for m in messages if m.offset < end[tp])
    finally:
        await consumer.stop()
    return records


def _record(topic: str, value: bytes | None, raw_headers: Any) -> Record:
    headers = {k: v.decode(errors="replace") for k, v in (raw_headers or [])}
    ce_type = headers.get("ce_type", "")
    name = ce_type.split(".")[2] if ce_type.count(".") >= 3 else ce_type
    try:
        data = json.loads(value) if value else {}
    except ValueError:
        data = {"unparseable": True}
    return Record(topic, name, headers.get("ce_id", ""), data if isinstance(data, dict) else {}, headers)


async def pending_outbox(mongodb_url: str, prefix: str) -> dict[str, int]:
    """Documents per collection whose outbox still holds events not yet published."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_url, tz_aware=True)
    pending: dict[str, int] = {}
    try:
        for service in SERVICE_NAMES:
            database = client[f"{prefix}{service}"]
            for name in await database.list_collection_names():
                waiting = await database[name].count_documents({"outbox.0": {"$exists": True}})
                if waiting:
                    pending[f"{service}.{name}"] = waiting
    finally:
        await client.close()
    return pending


class LagProbe:
    """Consumer lag per group and topic, with clients kept open between calls (and opened again
    after the broker was away)."""

    def __init__(self, bootstrap: str, groups: dict[str, list[str]]) -> None:
        self._bootstrap = bootstrap
        self.groups = groups  # group -> the topics it consumes
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await (client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop())
        self._admin = self._consumer = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
            await self._admin.start()
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None)
            await self._consumer.start()
        return self._admin, self._consumer

    async def lag(self) -> dict[str, int]:
        admin, consumer = await self._clients()
        try:
            return await asyncio.wait_for(self._measure(admin, consumer), timeout=10)
        except Exception:
            await self.close()
            raise

    async def end_offsets(self) -> dict[TopicPartition, int]:
        """The end offset of every partition of every topic, now."""
        _admin, consumer = await self._clients()
        try:
            return dict(await asyncio.wait_for(consumer.end_offsets(_partitions(every_topic())), timeout=10))
        except Exception:
            await self.close()
            raise

    async def _measure(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> dict[str, int]:
        lag: dict[str, int] = {}
        for group, topics in self.groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            partitions = _partitions(topics)
            end = await consumer.end_offsets(partitions)
            for tp in partitions:
                done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
                lag[f"{group} {tp.topic}"] = lag.get(f"{group} {tp.topic}", 0) + max(0, end[tp] - done)
        return lag

    async def settled(self, rounds: int = 2, gap: float = 0.6, timeout: float = 120.0) -> bool:
        """Wait until every group has consumed everything, `rounds` times in a row `gap` apart
        (longer than a sweep's period, so what the last clock step made due is out too)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            try:
                quiet = quiet + 1 if not any((await self.lag()).values()) else 0
            except Exception:
                quiet = 0  # the broker is away; the operator brings it back
            if quiet >= rounds:
                return True
            await asyncio.sleep(gap)
        return False


def consumed_topics(asyncapi: Document) -> list[str]:
    """The topics a service's AsyncAPI document says it receives from."""
    channels = asyncapi.get("channels", {})
    names = {
        channels[op["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
        for op in asyncapi.get("operations", {}).values()
        if op.get("action") == "receive"
    }
    return sorted(names)


def _partitions(topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics` (the platform creates them with these counts)."""
    counts = dict(all_topic_names())
    return [TopicPartition(topic, p) for topic in topics for p in range(counts[topic])]


def every_topic() -> list[str]:
    return sorted(name for name, _partitions in all_topic_names())
