"""`make bench`: throughput of the platform's plumbing, each figure next to a baseline measured in
the same run on the same servers.

- outbox relay: events written to documents' outboxes, then relayed to Kafka; baseline: the same
  CloudEvents sent straight through the same idempotent producer (the floor the relay adds to).
- consumer: records handled through the idempotent consumer (ledger check + insert, a handler that
  writes one document); baseline: the same handler called directly.

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` if set, else local Kafka and store on free
ports. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "local"))

import localstack
from mentorship_schemas import CloudEvent, MentorAvailable
from pymongo import AsyncMongoClient
from servicekit.consumer import EventConsumer
from servicekit.kafka import CloudEventPublisher, create_broker, ensure_topics
from servicekit.outbox import OutboxRelay, ensure_outbox_index, new_document, outbox_entry

EVENTS = int(os.environ.get("BENCH_EVENTS", 5000))
PER_DOCUMENT = 5


def _event(org: str, person: str, version: int) -> MentorAvailable:
    return MentorAvailable(org_id=org, version=version, person_id=person, capacity=3, active_mentees=0)


async def bench_relay(bootstrap: str, mongo_url: str) -> dict[str, Any]:
    org = f"bench-{uuid.uuid4().hex[:6]}"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    collection = mongo[f"bench_{org}"]["aggregates"]
    await ensure_outbox_index(collection)
    broker = create_broker(bootstrap, client_id="bench")
    await broker.start()
    publisher = CloudEventPublisher(broker)
    try:
        documents = []
        for d in range(EVENTS // PER_DOCUMENT):
            person = f"p{d}"
            entries = [
                outbox_entry(_event(org, person, v), source="/bench", time=datetime.now(UTC))
                for v in range(1, PER_DOCUMENT + 1)
            ]
            documents.append(new_document({"_id": person, "version": PER_DOCUMENT}, entries))
        await collection.insert_many(documents)

        # Baseline: the same events straight through the producer, no outbox.
        events = [_cloud_event(entry) for doc in documents for entry in doc["outbox"]]
        started = time.perf_counter()
        await asyncio.gather(*[await publisher.send(MentorAvailable.topic(), e, {}) for e in events])
        baseline = time.perf_counter() - started

        relay = OutboxRelay([collection], publisher.send, batch_size=500)
        started = time.perf_counter()
        relayed = 0
        while (count := await relay.run_once()) > 0:
            relayed += count
        relay_seconds = time.perf_counter() - started
        assert relayed == EVENTS, relayed
        return {
            "events": EVENTS,
            "relay_seconds": round(relay_seconds, 3),
            "relay_events_per_second": round(EVENTS / relay_seconds),
            "baseline_direct_publish_seconds": round(baseline, 3),
            "baseline_events_per_second": round(EVENTS / baseline),
        }
    finally:
        await broker.stop()
        await mongo.drop_database(f"bench_{org}")
        await mongo.close()


def _cloud_event(entry: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id=entry["id"],
        source=entry["source"],
        type=entry["type"],
        subject=entry["subject"],
        time=entry["time"],
        data=entry["data"],
    )


async def bench_consumer(mongo_url: str) -> dict[str, Any]:
    org = f"bench-{uuid.uuid4().hex[:6]}"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    baseline_db, consumer_db = mongo[f"bench_{org}_a"], mongo[f"bench_{org}_b"]

    def make_handler(effects: Any) -> Any:
        async def handler(event: MentorAvailable, envelope: CloudEvent) -> None:
            await effects.update_one(
                {"_id": envelope.id}, {"$setOnInsert": {"person": event.person_id}}, upsert=True
            )

        return handler

    async def no_dead_letters(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        raise AssertionError("nothing should be dead-lettered")

    consumer = EventConsumer(
        group_id="bench", ledger=consumer_db["processed_events"], dead_letter=no_dead_letters
    )
    consumer.add(MentorAvailable, make_handler(consumer_db["effects"]))
    records = []
    count = EVENTS // 2
    for i in range(count):
        event = _event(org, f"p{i}", 1)
        envelope = CloudEvent(
            id=str(uuid.uuid4()),
            source="/bench",
            type=event.ce_type(),
            subject=event.person_id,
            data=event.model_dump(mode="json"),
        )
        records.append((json.dumps(envelope.data).encode(), envelope.kafka_headers(), event, envelope))
    try:
        # Baseline: the same handler on its own, into a collection of the same size.
        baseline_handler = make_handler(baseline_db["effects"])
        started = time.perf_counter()
        for _, _, event, envelope in records:
            await baseline_handler(event, envelope)
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        for value, headers, _, _ in records:
            outcome = await consumer.handle_record(
                topic=MentorAvailable.topic(), value=value, key=None, headers=headers
            )
            assert outcome == "processed", outcome
        consumed = time.perf_counter() - started
        return {
            "records": count,
            "consumer_seconds": round(consumed, 3),
            "consumer_records_per_second": round(count / consumed),
            "baseline_handler_only_seconds": round(baseline, 3),
            "baseline_records_per_second": round(count / baseline),
        }
    finally:
        await mongo.drop_database(baseline_db.name)
        await mongo.drop_database(consumer_db.name)
        await mongo.close()


async def main(bootstrap: str, mongo_url: str) -> None:
    await ensure_topics(bootstrap)
    relay = await bench_relay(bootstrap, mongo_url)
    print(
        f"outbox relay : {relay['events']} events in {relay['relay_seconds']}s "
        f"({relay['relay_events_per_second']}/s); baseline direct publish "
        f"{relay['baseline_direct_publish_seconds']}s ({relay['baseline_events_per_second']}/s)"
    )
    consumer = await bench_consumer(mongo_url)
    print(
        f"consumer     : {consumer['records']} records in {consumer['consumer_seconds']}s "
        f"({consumer['consumer_records_per_second']}/s); baseline handler only "
        f"{consumer['baseline_handler_only_seconds']}s ({consumer['baseline_records_per_second']}/s)"
    )
    print(json.dumps({"outbox_relay": relay, "consumer": consumer}))


if __name__ == "__main__":
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        mongo_url = os.environ.get("MONGODB_URL")
        state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        if not bootstrap:
            kafka = localstack.KafkaServer(state / "kafka")
            stack.callback(kafka.stop)
            kafka.start()
            bootstrap = kafka.bootstrap_servers
        if not mongo_url:
            store = localstack.MongoStore(state / "store")
            stack.callback(store.stop)
            store.start()
            mongo_url = store.url
        asyncio.run(main(bootstrap, mongo_url))
