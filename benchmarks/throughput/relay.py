"""Part 3 of `make bench`: the outbox relay against publishing the same events directly.

Direct publish is what a service without the outbox does: FastStream's `broker.publish` of the
CloudEvents (our `CloudEventPublisher`, idempotent, acks=all); the ratio is against it. The relay
itself publishes through its own aiokafka producer, so the same events sent straight through that
producer are measured too (`raw_per_s`, `raw_ratio`): the outbox's cost without FastStream's."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mentorship_schemas import CloudEvent, MentorAvailable
from pymongo import AsyncMongoClient
from servicekit.kafka import CloudEventPublisher, EventProducer, create_broker
from servicekit.outbox import (
    OutboxRelay,
    cloud_event_of,
    ensure_outbox_index,
    new_document,
    outbox_entry,
)

PER_DOCUMENT = 5
# Queues one event; the returned future resolves when the broker acknowledged it.
PublishOne = Callable[[str, CloudEvent, Mapping[str, str]], Awaitable[asyncio.Future[Any]]]


async def relay_against_direct(bootstrap: str, mongo_url: str, count: int) -> dict[str, Any]:
    org = f"bench-{uuid.uuid4().hex[:6]}"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    collection = mongo[f"bench_relay_{org}"]["aggregates"]
    await ensure_outbox_index(collection)
    producer = EventProducer(bootstrap, client_id="bench-relay")
    await producer.start()
    broker = create_broker(bootstrap, client_id="bench-direct")
    await broker.start()
    try:
        documents = []
        for d in range(count // PER_DOCUMENT):
            entries = [
                outbox_entry(
                    MentorAvailable(org_id=org, version=v, person_id=f"p{d}", capacity=3, active_mentees=0),
                    source="/bench",
                    time=datetime.now(UTC),
                )
                for v in range(1, PER_DOCUMENT + 1)
            ]
            documents.append(new_document({"_id": f"p{d}", "version": PER_DOCUMENT}, entries))
        await collection.insert_many(documents)
        events = [cloud_event_of(entry) for document in documents for entry in document["outbox"]]

        direct = await _publish_seconds(CloudEventPublisher(broker).send, events)
        raw = await _publish_seconds(producer.send, events)

        relay = OutboxRelay([collection], producer.send_all, batch_size=500)
        for document in documents:  # as the aggregate store does after each write
            relay.wake(collection.name, document["_id"])
        started = time.perf_counter()
        relayed = await relay.run_hinted()
        while (more := await relay.run_once()) > 0:
            relayed += more
        relay_seconds = time.perf_counter() - started
        if relayed != len(events):
            raise AssertionError(f"relayed {relayed} of {len(events)} events")
        return {
            "per_s": round(len(events) / relay_seconds),
            "direct_per_s": round(len(events) / direct),
            "ratio": round(direct / relay_seconds, 3),
            "raw_per_s": round(len(events) / raw),
            "raw_ratio": round(raw / relay_seconds, 3),
        }
    finally:
        await broker.stop()
        await producer.stop()
        await mongo.drop_database(collection.database.name)
        await mongo.close()


async def _publish_seconds(send: PublishOne, events: list[CloudEvent]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*[await send(MentorAvailable.topic(), event, {}) for event in events])
    return time.perf_counter() - started
