"""Reading what really landed on a Kafka topic, for assertions."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from mentorship_schemas import CloudEvent, Event


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


async def read_topic(bootstrap: str, topic: str, *, until: Any = None, timeout: float = 20.0) -> list[Record]:
    """Every record of `topic` from the beginning; keeps reading until `until(records)` holds or
    the end offsets at the time of the call are reached (whichever is later), within `timeout`."""
    # Without a group, a subscription takes every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = sorted(consumer.assignment())
        if not partitions:
            raise AssertionError(f"topic {topic} has no partitions assigned")
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp, messages in batch.items():
                for m in messages:
                    records.append(
                        Record(
                            tp.topic,
                            tp.partition,
                            m.offset,
                            m.key,
                            m.value,
                            {k: v.decode() for k, v in (m.headers or [])},
                        )
                    )
            reached_end = all([(await consumer.position(tp)) >= end[tp] for tp in partitions])
            if reached_end and (until is None or until(records)):
                return records
        if until is not None and not until(records):
            raise AssertionError(f"timed out reading {topic}: condition not met in {len(records)} records")
        return records
    finally:
        await consumer.stop()


def cloud_event(event: Event, source: str = "test") -> CloudEvent:
    """`event` as the service `source` would publish it: a fresh id, now, its aggregate as subject,
    keyed by its partition key."""
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=f"/mentorship/{source}",
        type=event.ce_type(),
        subject=event.aggregate_id,
        time=datetime.now(UTC),
        data=event.model_dump(mode="json"),
        partitionkey=event.partition_key,
    )
