"""Record keys: what each event type is keyed by, as the AsyncAPI documents state it and as the
records on a real Kafka topic carry it (one key, one partition, one order for consumers)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from mentorship_schemas import ALL_EVENTS, EVENTS_BY_TYPE, Event, Stream
from servicekit.kafka import EventProducer, ensure_topics
from servicekit.outbox import outbox_entry, record_of

from scripts.generate_docs import SERVICES, asyncapi_of
from tests.conftest import Infra
from tests.contract.samples import sample_event
from tests.kafka_records import read_topic


def _documented_keys() -> dict[str, dict[str, str]]:
    """service -> ce_type -> the payload field its AsyncAPI document names as the record key."""
    keys: dict[str, dict[str, str]] = {}
    for service in SERVICES:
        for channel in asyncapi_of(service)["channels"].values():
            for message in channel["messages"].values():
                keys.setdefault(service, {})[message["name"]] = message["x-key-field"]
    return keys


@pytest.mark.fast
@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda e: e.__name__)
def test_events_about_a_pair_or_circle_are_keyed_by_it_and_notifications_by_their_recipient(
    event_type: type[Event],
) -> None:
    fields = event_type.model_fields
    expected = event_type.aggregate_field
    if event_type.stream is Stream.NOTIFICATIONS:
        expected = "recipient_id"
    elif "pair_id" in fields:
        expected = "pair_id"
    elif "circle_id" in fields:
        expected = "circle_id"
    assert event_type.partition_key_field() == expected
    assert fields[expected].is_required(), f"{event_type.__name__}.{expected} keys records: it must be set"
    event = sample_event(event_type)
    assert event.partition_key == getattr(event, expected)
    assert event.aggregate_id == getattr(event, event_type.aggregate_field), "ce_subject stays the aggregate"


@pytest.mark.fast
def test_every_asyncapi_document_names_the_key_each_event_type_really_has() -> None:
    for service, keys in _documented_keys().items():
        for ce_type, field in keys.items():
            assert field == EVENTS_BY_TYPE[ce_type].partition_key_field(), f"{service}: {ce_type}"


@pytest.fixture
async def publisher(infra: Infra) -> AsyncIterator[EventProducer]:
    producer = EventProducer(infra.kafka_bootstrap_servers, client_id="test-contract-keys")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def test_published_records_carry_the_key_their_asyncapi_document_states(
    infra: Infra, publisher: EventProducer
) -> None:
    # The real path: an outbox entry, as the relay of every service sends it, onto a topic of this
    # test's own (several partitions, like the platform's).
    topic = f"test-contract-keys-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka_bootstrap_servers, [(topic, 6)])
    published: dict[str, tuple[str, str]] = {}  # ce_id -> (service, ce_type)
    documented = _documented_keys()
    for service, keys in documented.items():
        for ce_type in keys:
            entry = outbox_entry(
                sample_event(EVENTS_BY_TYPE[ce_type]), source="/mentorship/test", time=datetime.now(UTC)
            )
            await publisher.send_all([replace(record_of(entry, {}), topic=topic)])
            published[entry["id"]] = (service, ce_type)

    records = await read_topic(
        infra.kafka_bootstrap_servers,
        topic,
        until=lambda rs: {r.headers.get("ce_id") for r in rs} >= published.keys(),
    )
    assert len(records) == len(published)
    for record in records:
        service, ce_type = published[record.headers["ce_id"]]
        data: dict[str, Any] = json.loads(record.value)
        field = documented[service][ce_type]
        assert record.key == data[field].encode(), f"{ce_type}: key is not its {field}"
        assert record.headers["ce_partitionkey"] == data[field]
        assert record.headers["ce_subject"] == data[EVENTS_BY_TYPE[ce_type].aggregate_field]
