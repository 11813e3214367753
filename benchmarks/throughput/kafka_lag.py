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


async def lag(bootstrap: str, group: str, topics: Sequence[str]) -> int:
    """Records of `topics` the group has not committed yet (from the start where it has none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        partitions = await _partitions(admin, topics)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        total = 0
        for tp in partitions:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else starts[tp]
            total += max(0, ends[tp] - position)
        return total
    finally:
        await consumer.stop()
        await admin.close()


async def until_caught_up(bootstrap: str, group: str, topics: Sequence[str], timeout: float) -> float:
    """Wait until the group's lag on `topics` is 0; returns the monotonic time it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await lag(bootstrap, group, topics) == 0:
                return time.monotonic()
        except KafkaError as error:
            # A fresh broker on a busy machine may not have the group's coordinator yet: ask again.
            if not error.retriable or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            left = await lag(bootstrap, group, topics)
            raise TimeoutError(
                f"group {group} still {left} records behind on {list(topics)} after {timeout:.0f} s"
            )
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
