"""Kafka: the broker factory (idempotent producer, acks=all, tracing middleware), CloudEvents
publishing (through FastStream, and straight through aiokafka for the outbox relay), dead-letter
publishing and explicit, idempotent topic creation."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from mentorship_schemas import CloudEvent
from mentorship_schemas.topics import all_topic_names
from opentelemetry import trace
from pydantic_core import to_json

log = logging.getLogger(__name__)


# On stop, a handler still running gets this long to finish before it is cancelled (and its record,
# never committed, is redelivered); only then do the consumers leave their groups.
GRACEFUL_STOP_SECONDS = 10.0


class _TopicsAreCreated(logging.Filter):
    """The runtime creates every topic at start (`ensure_topics`); FastStream's start-up reminder
    that auto-creation is off ("Make sure the topics exist") would only alarm whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Auto create topics is disabled" not in record.getMessage()


def create_broker(bootstrap_servers: str, *, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        graceful_timeout=GRACEFUL_STOP_SECONDS,
        # Idempotent producer with acks=all: a retried send never duplicates or reorders a record.
        enable_idempotence=True,
        acks="all",
        # Topics are created explicitly (ensure_topics); a typo must not create a new topic.
        allow_auto_create_topics=False,
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=trace.get_tracer_provider())],
        logger=_broker_logger(client_id),
        log_level=logging.DEBUG,
    )


def _broker_logger(client_id: str) -> logging.Logger:
    logger = logging.getLogger(f"{client_id}.kafka")
    if not any(isinstance(f, _TopicsAreCreated) for f in logger.filters):
        logger.addFilter(_TopicsAreCreated())
    return logger


class CloudEventPublisher:
    """Publishes CloudEvents in binary content mode: JSON value, `ce_*` headers, aggregate id key."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(self, topic: str, event: CloudEvent, extra_headers: Mapping[str, str]) -> None:
        """Send and wait for the broker's acknowledgement (acks=all)."""
        await (await self.send(topic, event, extra_headers))

    async def send(
        self, topic: str, event: CloudEvent, extra_headers: Mapping[str, str]
    ) -> asyncio.Future[Any]:
        """Queue the record; the returned future resolves when the broker acknowledged it."""
        headers = {**extra_headers, **event.kafka_headers()}
        delivery = await self._broker.publish(
            record_value(event),
            topic,
            key=event.key,
            headers=headers,
            no_confirm=True,
        )
        return delivery

    async def dead_letter(self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        await self._broker.publish(value, topic, key=key, headers=headers)


def record_value(event: CloudEvent) -> bytes:
    return json_value(event.data)


def json_value(data: Mapping[str, Any]) -> bytes:
    """An event's data as a record's value: by pydantic-core's serializer, six times as fast as the
    json module's on an event (0.5 us against 3.0 us for a PairCreated; the relay's JSON was 2.7% of
    matching's main thread in its flood), UTF-8 where the json module writes `\\u` escapes; by
    the json module for what pydantic-core refuses (a lone surrogate, which a JSON value read
    by the json module may carry)."""
    try:
        return to_json(data)
    except ValueError:
        return json.dumps(data, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """A record as it goes to Kafka (`EventProducer.send_all`)."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class KeyPartitioner:
    """aiokafka's default partitioner (the Java client's murmur2 of the key, so every producer puts a
    key on the same partition) with each key's hash kept: its murmur2 is pure Python, a few
    microseconds a record, and the relay sends the same keys (a pair's, a recipient's) again and
    again. Up to `kept` keys; then it starts afresh."""

    def __init__(self, kept: int = 100_000) -> None:
        self._kept = kept
        self._hashes: dict[bytes, int] = {}
        self._default = DefaultPartitioner()

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(self._default(key, all_partitions, available))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self._kept:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]


class EventProducer:
    """Sends CloudEvents in binary content mode straight through aiokafka: the outbox relay's path.

    The same records as `CloudEventPublisher` (JSON value, `ce_*` headers, partition key), from an
    idempotent producer with acks=all, but without FastStream's publish middleware: that adds a
    correlation id and two spans per record, where the relay already makes the one producer span of
    each event and puts its trace context in the headers.
    """

    def __init__(
        self, bootstrap_servers: str, *, client_id: str, linger_ms: int = 0, batch_bytes: int = 512 * 1024
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = f"{client_id}-outbox"
        self._linger_ms = linger_ms  # see ServiceSettings.producer_linger_ms and producer_batch_bytes
        self._batch_bytes = batch_bytes
        self._producer: AIOKafkaProducer | None = None  # aiokafka needs the running loop: made in start
        self._partitioner = KeyPartitioner()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=self._linger_ms,
            max_batch_size=self._batch_bytes,
            partitioner=self._partitioner,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(
        self, topic: str, event: CloudEvent, extra_headers: Mapping[str, str]
    ) -> asyncio.Future[Any]:
        """Queue the record; the returned future resolves when the broker acknowledged it."""
        headers = {**extra_headers, **event.kafka_headers()}
        delivery: asyncio.Future[Any] = await self._started().send(
            topic,
            record_value(event),
            key=event.key,
            headers=[(name, value.encode()) for name, value in headers.items()],
        )
        return delivery

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Send the records and wait until the broker has acknowledged them all. Each partition's
        records go in batches of their own, in their order: `send` per record looks the topic's
        metadata up, makes a future and finds a batch for each (about 13 us of CPU a record
        against 5 here)."""
        producer = self._started()
        partitions: dict[str, list[int]] = {}
        batches: dict[tuple[str, int], BatchBuilder] = {}
        deliveries: list[asyncio.Future[Any]] = []
        for record in records:
            known = partitions.get(record.topic)
            if known is None:
                known = partitions[record.topic] = sorted(await producer.partitions_for(record.topic))
            partition = self._partitioner(record.key, known, known)
            batch = batches.get((record.topic, partition))
            if batch is None:
                batch = batches[record.topic, partition] = producer.create_batch()
            if not _added(batch, record):  # full (and closed): it goes, a new one takes the record
                deliveries.append(await producer.send_batch(batch, record.topic, partition=partition))
                batch = batches[record.topic, partition] = producer.create_batch()
                _added(batch, record)  # the first record always fits
        for (topic, partition), batch in batches.items():
            batch.close()  # ours alone: `send` must not add to it
            deliveries.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*deliveries)

    def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the event producer is not started")
        return self._producer


def _added(batch: BatchBuilder, record: OutgoingRecord) -> bool:
    added = batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers)
    return added is not None


async def ensure_topics(
    bootstrap_servers: str,
    topics: list[tuple[str, int]] | None = None,
    *,
    replication_factor: int = 1,
) -> list[str]:
    """Create the platform's topics (default: every topic in the registry, with its DLQ).

    Idempotent: existing topics are left alone. Returns the names that were created.
    """
    wanted = topics if topics is not None else all_topic_names()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="mentorship-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [(name, parts) for name, parts in wanted if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(name, num_partitions=parts, replication_factor=replication_factor)
                for name, parts in missing
            ]
        )
        created = []
        for name, code, *_ in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                raise RuntimeError(f"could not create topic {name}: Kafka error code {code}")
        log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()


def main() -> None:
    """`python -m servicekit.kafka [bootstrap]`: create every topic in the registry."""
    import asyncio
    import os
    import sys

    bootstrap = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    created = asyncio.run(ensure_topics(bootstrap))
    print(f"topics created: {', '.join(created) or 'none (all existed)'}")


if __name__ == "__main__":
    main()
