"""Watching a consumer group from outside: its lag, and producing records fast."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


async def produce(bootstrap: str, records: Sequence[Outgoing]) -> None:
    """Send every record (acks=all, idempotent) and wait for all acknowledgements."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        sent = [await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _partitions(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> list[TopicPartition]:
    described = await admin.describe_topics(list(topics))
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]


class GroupLag:
    """Records of `topics` a group has not committed yet, asked as often as needed over one admin
    client and one consumer (`async with`)."""

    def __init__(self, bootstrap: str, group: str, topics: Sequence[str]) -> None:
        self._group = group
        self._topics = list(topics)
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._partitions: list[TopicPartition] | None = None

    async def __aenter__(self) -> GroupLag:
        await self._admin.start()
        try:
            await self._consumer.start()
        except BaseException:
            await self._admin.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._consumer.stop()
        finally:
            await self._admin.close()

    async def lag(self) -> int:
        """From the start where the group has committed nothing."""
        # Described once: a topic keeps its partitions (one described before it had any, again).
        partitions = self._partitions or await _partitions(self._admin, self._topics)
        self._partitions = partitions
        ends = await self._consumer.end_offsets(partitions)
        starts = await self._consumer.beginning_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(self._group, partitions=partitions)
        total = 0
        for tp in partitions:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else starts[tp]
            total += max(0, ends[tp] - position)
        return total


# How often `until_caught_up` asks: its answer ends a measured flood. The passthrough's flood of
# 20,000 records takes about a second: asked every 0.2 s with new clients for each answer, the first
# measured passthrough on a fresh broker ran 14,787, 19,311 and 19,261 records/s in three runs
# alike, and 14,211 and 14,662 in two `make bench` runs; asked every 0.02 s over the same clients,
# 19,572 and 19,167 (20,742-21,237 for the floods after it). A wait asks less often as it goes on
# (a fiftieth of the time waited so far, up to `POLL_MAX_SECONDS`): a service's flood takes ten
# seconds, and every answer costs the bench and the broker CPU the services share.
POLL_SECONDS = 0.02
POLL_MAX_SECONDS = 0.2


async def until_caught_up(bootstrap: str, group: str, topics: Sequence[str], timeout: float) -> float:
    """Wait until the group's lag on `topics` is 0; returns the monotonic time it was seen."""
    began = time.monotonic()
    deadline = began + timeout
    while True:
        try:
            async with GroupLag(bootstrap, group, topics) as watched:
                while (left := await watched.lag()) > 0:
                    now = time.monotonic()
                    if now > deadline:
                        behind = f"{left} records behind on {list(topics)}"
                        raise TimeoutError(f"group {group} still {behind} after {timeout:.0f} s")
                    await asyncio.sleep(min(POLL_MAX_SECONDS, max(POLL_SECONDS, (now - began) / 50)))
                return time.monotonic()
        except KafkaError as error:
            # A fresh broker on a busy machine may not have the group's coordinator yet: ask again.
            if not error.retriable or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def start_group_at_end(bootstrap: str, group: str, topics: Sequence[str]) -> None:
    """Commit `group`'s offsets at the current end of `topics` before any member joins, so a
    service measured after others starts where they stopped instead of working through the
    events the earlier phases left on the shared topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = await _partitions(admin, topics)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: offset for tp, offset in ends.items()})
    finally:
        await consumer.stop()
