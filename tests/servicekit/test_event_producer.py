"""The relay's records and how its producer sends them: batches of its own per partition, on a
real Kafka topic."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aiokafka.partitioner import DefaultPartitioner
from mentorship_schemas import MentorAvailable, NotificationSent
from servicekit.kafka import EventProducer, OutgoingRecord, ensure_topics, json_value, record_value
from servicekit.outbox import cloud_event_of, outbox_entry, record_of

from tests.conftest import Infra
from tests.contract.samples import sample_event
from tests.kafka_records import read_topic

TRACE = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


@pytest.mark.fast
@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "keyed-by-subject"])
@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=-5))], ids=["utc", "utc-5"])
def test_an_entrys_record_is_the_record_of_its_cloud_event(keyed: bool, zone: timezone) -> None:
    """What the relay builds from an entry is what CloudEventPublisher sends for its CloudEvent:
    the same key, value and headers (the trace context first, then the ce_* attributes)."""
    sent = sample_event(NotificationSent)  # keyed by its recipient; its subject: the notification
    entry = outbox_entry(
        sent, source="/mentorship/notifications", time=datetime(2026, 3, 2, 9, 30, tzinfo=zone)
    )
    if not keyed:  # written before events had their own key
        del entry["key"]
    event = cloud_event_of(entry)

    record = record_of(entry, TRACE)

    assert record.topic == entry["topic"]
    assert sent.partition_key != sent.aggregate_id
    assert record.key == event.key == (sent.partition_key if keyed else sent.aggregate_id).encode()
    assert record.value == record_value(event)
    assert record.headers == [
        (name, value.encode()) for name, value in {**TRACE, **event.kafka_headers()}.items()
    ]
    expected_time = "2026-03-02T09:30:00Z" if zone is UTC else "2026-03-02T14:30:00Z"
    assert dict(record.headers)["ce_time"] == expected_time.encode()


@pytest.mark.fast
def test_a_records_value_is_the_datas_json_in_utf_8_whatever_its_strings_hold() -> None:
    """Compact JSON that reads back as the data: non-ASCII text as UTF-8, and a lone surrogate
    (which a value read by the json module may carry, and UTF-8 cannot) escaped as the json
    module does, not refused."""
    data = {"name": "Zoë Åström", "score": 0.7342156789, "reasons": ["日本語"], "focus_area": None}
    value = json_value(data)
    assert value == json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    assert json.loads(value) == data

    lone = {"note": "bad \udc80 half"}
    assert json_value(lone) == json.dumps(lone, separators=(",", ":")).encode()
    assert json.loads(json_value(lone)) == lone


async def test_send_all_lands_every_record_once_on_its_keys_partition_in_order(infra: Infra) -> None:
    """Records of many keys, in batches small enough to fill up many times: each lands once, on
    the partition the default partitioner gives its key (as `send` puts it), each key's in order."""
    topic = f"test-producer-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka_bootstrap_servers, [(topic, 4)])
    run = uuid.uuid4().hex[:8]
    keys = [f"mentor-{n}".encode() for n in range(40)]
    records = [
        OutgoingRecord(
            topic,
            keys[n % len(keys)],
            json.dumps({"n": n}).encode(),
            [("ce_id", f"{run}-{n}".encode()), ("content-type", b"application/json")],
        )
        for n in range(300)
    ]
    producer = EventProducer(infra.kafka_bootstrap_servers, client_id="test-producer", batch_bytes=2048)
    await producer.start()
    try:
        await producer.send_all(records[:120])
        await producer.send_all(records[120:])
    finally:
        await producer.stop()

    landed = await read_topic(infra.kafka_bootstrap_servers, topic, until=lambda rs: len(rs) >= 300)
    assert sorted(r.headers["ce_id"] for r in landed) == sorted(f"{run}-{n}" for n in range(300))
    default = DefaultPartitioner()
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for record in sorted(landed, key=lambda r: (r.partition, r.offset)):
        assert record.key is not None
        assert record.partition == default(record.key, [0, 1, 2, 3], [0, 1, 2, 3])
        assert record.headers["content-type"] == "application/json"
        by_key[record.key].append(json.loads(record.value)["n"])
    assert len({r.partition for r in landed}) > 1
    for key, numbers in by_key.items():
        assert numbers == sorted(numbers), f"{key!r} out of order"
        assert len(numbers) == sum(1 for r in records if r.key == key)
    assert len(landed) == 300


async def test_send_all_waits_for_the_acknowledgements(infra: Infra) -> None:
    """Once it returns, the records are on the topic (the relay clears the outbox only then)."""
    topic = f"test-producer-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka_bootstrap_servers, [(topic, 2)])
    entries = [
        outbox_entry(
            MentorAvailable(org_id="org-1", version=v, person_id="mentor-1", capacity=2, active_mentees=0),
            source="/mentorship/test",
            time=datetime.now(UTC),
        )
        for v in (1, 2)
    ]
    producer = EventProducer(infra.kafka_bootstrap_servers, client_id="test-producer")
    await producer.start()
    try:
        await producer.send_all([replace(record_of(entry, {}), topic=topic) for entry in entries])
    finally:
        await producer.stop()
    landed = await read_topic(infra.kafka_bootstrap_servers, topic, timeout=1.0)
    assert [r.headers["ce_id"] for r in landed] == [e["id"] for e in entries]
