"""What the flow tests share: events published onto Kafka as another service would, waiting for
the matching service to see them, and reading the events it published."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from mentorship_schemas import Event
from servicekit.kafka import CloudEventPublisher, create_broker

from tests.kafka_records import cloud_event
from tests.matching.conftest import Matching
from tests.waiting import eventually

WAIT = 20.0


async def consuming(matching: Matching) -> None:
    """Wait until every subscriber of the service holds its partitions and knows where it reads
    from: it starts at the latest offset, so a record sent before that would be skipped."""
    subscribers: list[Any] = list(matching.runtime.broker.subscribers)

    def assigned() -> bool:
        return all(s.consumer is not None and s.consumer.assignment() for s in subscribers)

    await eventually(assigned, timeout=WAIT, what="the matching consumers to be assigned their partitions")
    for subscriber in subscribers:
        for partition in subscriber.consumer.assignment():
            await subscriber.consumer.position(partition)


async def publish_as(matching: Matching, source: str, *events: Event) -> list[str]:
    """Send `events`, in order, onto their Kafka topics from a producer of its own, as the service
    `source` would; returns their CloudEvent ids."""
    await consuming(matching)
    envelopes = [cloud_event(event, source) for event in events]
    broker = create_broker(matching.infra.kafka_bootstrap_servers, client_id=f"test-{source}")
    await broker.connect()
    try:
        publisher = CloudEventPublisher(broker)
        for event, envelope in zip(events, envelopes, strict=True):
            await publisher.publish(event.topic(), envelope, {})
    finally:
        await broker.stop()
    return [envelope.id for envelope in envelopes]


async def processed(matching: Matching, event_id: str) -> None:
    """Wait until the service's consumer has handled the event (its ledger holds the id) and the
    continuous matching it caused, which runs behind the consumer, is done."""

    async def in_ledger() -> bool:
        return await matching.runtime.db["processed_events"].find_one({"_id": event_id}) is not None

    await eventually(in_ledger, timeout=WAIT, what=f"event {event_id} to be processed")
    assert matching.context.coalescer is not None
    await asyncio.wait_for(matching.context.coalescer.settled(), WAIT)


async def outbox_drained(matching: Matching) -> None:
    """Wait until every event the org's mentees carry was published (so reading the topic now
    sees all of them)."""

    async def drained() -> bool:
        pending: int = await matching.candidates.count_documents(
            {"org_id": matching.org, "outbox.0": {"$exists": True}}
        )
        return pending == 0

    await eventually(drained, timeout=WAIT, what="the outbox relay to publish every pending event")


async def mentee(matching: Matching, person_id: str) -> dict[str, Any]:
    document = await matching.candidates.find_one(
        {"org_id": matching.org, "person_id": person_id, "role": "mentee"}
    )
    assert document is not None, person_id
    return dict(document)


async def free_slots(matching: Matching, person_id: str) -> int:
    document = await matching.candidates.find_one(
        {"org_id": matching.org, "person_id": person_id, "role": "mentor"}
    )
    assert document is not None, person_id
    return int(document["free_slots"])


def at(value: str) -> datetime:
    """An ISO timestamp from an HTTP body or an event."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
