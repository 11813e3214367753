"""Part 3 of `make bench`: the outbox relay against publishing the same events directly, both
through the services' event producer (the relay's own path: aiokafka, idempotent, acks=all)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from mentorship_schemas import MentorAvailable
from pymongo import AsyncMongoClient
from servicekit.kafka import EventProducer
from servicekit.outbox import OutboxRelay, cloud_event_of, ensure_outbox_index, new_document, outbox_entry

PER_DOCUMENT = 5


async def relay_against_direct(bootstrap: str, mongo_url: str, count: int) -> dict[str, Any]:
    org = f"bench-{uuid.uuid4().hex[:6]}"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    collection = mongo[f"bench_relay_{org}"]["aggregates"]
    await ensure_outbox_index(collection)
    producer = EventProducer(bootstrap, client_id="bench-relay")
    await producer.start()
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

        started = time.perf_counter()
        await asyncio.gather(*[await producer.send(MentorAvailable.topic(), e, {}) for e in events])
        direct = time.perf_counter() - started

        relay = OutboxRelay([collection], producer.send, batch_size=500)
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
        }
    finally:
        await producer.stop()
        await mongo.drop_database(collection.database.name)
        await mongo.close()
