"""The idempotent event consumer: one subscription for a service's topics, dispatch on `ce_type`, a ledger of
processed event ids, in-place retries with backoff, and a dead-letter topic for what cannot succeed.

A record whose handler finds the store unreachable waits for it (it is retried, not counted as
an attempt, never dead-lettered): an outage of the store must not turn into lost effects.
Records arrive in batches. Offsets are committed only after every effect of the batch is stored
(FastStream acks after the handler returns; an exception escaping it seeks back so the batch is
read again, and the ledger skips what was done). Within a batch, one aggregate's records (one key)
run in order, and different aggregates run concurrently. A record that can never succeed
(bad JSON, a schema violation, a missing CloudEvents header) goes to `<topic>.dlq` at once; one that
keeps failing goes there after `max_attempts`. Either way the consumer moves on.

Handlers must themselves be idempotent (conditional updates, ids derived from the cause): the
ledger skips repeats cheaply, but a crash between the effect and the ledger write replays the event.
That is also what lets a batch's handlers group their reads and writes (`servicekit.grouped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy
from mentorship_schemas import CloudEvent, Event, dlq_topic
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from pydantic import ValidationError
from pydantic_core import from_json
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError

from servicekit import metrics
from servicekit.grouped import grouping
from servicekit.telemetry import spans_recorded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[Any, CloudEvent], Awaitable[None]]


# Errors that say the store cannot be reached (PyMongo's ConnectionFailure covers refused
# connections, timeouts and no server to select): a record meeting them is retried until the store
# answers, never dead-lettered.
UNREACHABLE = (ConnectionFailure,)


class PermanentError(Exception):
    """Raised by a handler for an event that can never be processed; it goes to the DLQ at once."""


class DeadLetterPublisher(Protocol):
    async def __call__(
        self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]
    ) -> None: ...


@dataclass(frozen=True)
class _Route:
    event_type: type[Event]
    handler: Handler


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 0.2
    backoff_max_seconds: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1)))


_FETCH_MIN_BYTES = 1 << 20
_LANE_MIN = 50  # keys per lane, at least (EventConsumer's `lanes`)


@dataclass(frozen=True)
class Record:
    """One Kafka record as the consumer needs it."""

    topic: str
    value: bytes
    key: bytes | None
    headers: dict[str, str]
    partition: int = -1
    offset: int = -1


async def _records(message: Any, original: Any = None) -> list[Record]:
    """A batch's records as the handler takes them, straight from aiokafka's. We parse and
    validate ourselves, so that bad JSON reaches our DLQ logic and not a decoder error; and the
    handler takes nothing else (asking FastStream for the message too cost a worker-thread hop
    per batch)."""
    raws = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
    return [
        Record(
            topic=raw.topic,
            value=raw.value or b"",
            key=raw.key,
            headers={name: value.decode() for name, value in raw.headers},
            partition=raw.partition,
            offset=raw.offset,
        )
        for raw in raws
    ]


async def _parsed(raws: tuple[ConsumerRecord, ...], parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's parser reads every header as UTF-8 text, and a batch it cannot read fails
    before any handler runs: one record with a header Kafka allows but text cannot hold (a null
    value, bytes that are not UTF-8) took the good records fetched with it, never handled nor
    dead-lettered. Such headers are read as best they can be instead, for the envelope's
    validation to judge (the DLQ, or an unknown type ignored)."""
    try:
        return await parse(raws)
    except (AttributeError, UnicodeDecodeError):
        return await parse(tuple(map(_readable, raws)))


def _readable(raw: ConsumerRecord) -> ConsumerRecord:
    headers = [(name, (value or b"").decode(errors="replace").encode()) for name, value in raw.headers]
    return dataclasses.replace(raw, headers=headers)


@dataclass
class _Work:
    index: int
    record: Record
    route: _Route
    envelope: CloudEvent
    event: Event


class EventConsumer:
    """Routes one service's subscribed event types to its handlers, a batch of records at a time.

    A batch costs one ledger query and one ledger write. Records with the same key (one aggregate)
    run one after another in their order; different keys run concurrently, up to `concurrency`
    per batch.

    `fetch_wait_ms`: how long the broker may hold a fetch until it has 1 MiB of records (0: it
    answers at the first record), so a trickle of records comes a few per batch, not one.

    `streams`: how many members of the group this process runs, each a Kafka consumer of its own
    reading its share of the partitions and handling its own batches, as replicas would: while one
    batch waits on the store, another's handlers run. A key lives in one partition, so its records
    still run in order, and each stream commits its own partitions.

    `lanes`: a large batch's keys are split into this many lanes, each started one turn of the
    event loop after the one before. A lane's handlers reach the store together (one group of
    reads or writes, servicekit.grouped) and what the next lane asks meanwhile goes as the next
    group: while one lane waits on the store, another's handlers run, within one batch and one
    commit. Lanes of fewer than `_LANE_MIN` keys would only add round trips: a trickle's batch
    runs as one.
    """

    def __init__(
        self,
        *,
        group_id: str,
        ledger: AsyncCollection[dict[str, Any]],
        dead_letter: DeadLetterPublisher,
        retry: RetryPolicy | None = None,
        start_from: Literal["earliest", "latest"] = "earliest",
        batch_size: int = 500,
        concurrency: int = 500,
        streams: int = 1,
        lanes: int = 1,
        fetch_wait_ms: int = 0,
    ) -> None:
        self.group_id = group_id
        self._start_from = start_from
        self._ledger = ledger
        self._dead_letter = dead_letter
        self._retry = retry or RetryPolicy()
        self._routes: dict[str, dict[str, _Route]] = {}
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._streams = streams
        self._lanes = lanes
        self._fetch_wait_ms = fetch_wait_ms
        self._waiting_for_store = False

    def on(self, event_type: type[Event]) -> Callable[[Handler], Handler]:
        """Decorator: handle `event_type` (its topic is subscribed when the broker is bound)."""

        def register(handler: Handler) -> Handler:
            self.add(event_type, handler)
            return handler

        return register

    def add(self, event_type: type[Event], handler: Handler) -> None:
        self._routes.setdefault(event_type.topic(), {})[event_type.ce_type()] = _Route(event_type, handler)

    @property
    def consumed_events(self) -> list[type[Event]]:
        return [route.event_type for routes in self._routes.values() for route in routes.values()]

    @property
    def topics(self) -> list[str]:
        return list(self._routes)

    def bind(self, broker: KafkaBroker) -> None:
        """Subscribe to every topic with a registered handler, `streams` times: each subscription
        is one Kafka consumer of all the topics, so the process joins its group once per stream,
        not once per topic."""
        if not self._routes:
            return
        for _ in range(self._streams):
            subscriber = broker.subscriber(
                *self._routes,
                batch=True,
                max_records=self._batch_size,
                batch_timeout_ms=50,
                # The broker answers a fetch once it has 1 MiB or `fetch_wait_ms` has passed.
                fetch_min_bytes=_FETCH_MIN_BYTES if self._fetch_wait_ms else 1,
                fetch_max_wait_ms=self._fetch_wait_ms or 500,
                group_id=self.group_id,
                auto_offset_reset=self._start_from,
                ack_policy=AckPolicy.NACK_ON_ERROR,
                parser=_parsed,
                decoder=_records,
                title=self.group_id,
            )
            subscriber(self._on_batch)

    async def _on_batch(self, records: Any) -> None:
        # `Any`: FastStream validates a handler's argument against its annotation; these are ours.
        await self.handle_batch(records)

    async def handle_record(
        self,
        *,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: dict[str, str],
        partition: int = -1,
        offset: int = -1,
    ) -> str:
        """Process one record; returns the outcome. Raises only when even the DLQ is unreachable."""
        (outcome,) = await self.handle_batch([Record(topic, value, key, headers, partition, offset)])
        return outcome

    async def handle_batch(self, records: Sequence[Record]) -> list[str]:
        """Process records in order per key; returns each record's outcome
        (processed, duplicate, ignored or dead_lettered)."""
        outcomes = [""] * len(records)
        seen = await self._seen(records)
        work: list[_Work] = []
        for index, record in enumerate(records):
            ce_type = record.headers.get("ce_type", "")
            route = self._routes.get(record.topic, {}).get(ce_type)
            if ce_type and route is None:
                # Another team's or a newer type on a shared topic: not ours to handle.
                metrics.EVENTS_CONSUMED.labels(type=ce_type, outcome="ignored").inc()
                outcomes[index] = "ignored"
            elif record.headers.get("ce_id") in seen or _dead_letter_mark(record) in seen:
                metrics.EVENTS_CONSUMED.labels(type=ce_type, outcome="duplicate").inc()
                outcomes[index] = "duplicate"
            else:
                try:
                    envelope, event = self._decode(route, record.value, record.headers)
                except (ValueError, ValidationError) as error:
                    await self._to_dlq(record, error, attempts=1)
                    outcomes[index] = "dead_lettered"
                    continue
                assert route is not None
                seen.add(envelope.id)  # the same event twice in one batch runs once
                work.append(_Work(index, record, route, envelope, event))
        slots = asyncio.Semaphore(self._concurrency)
        with grouping():  # the batch's handlers share round trips to the store (servicekit.grouped)
            lanes = _lanes(_by_key(work), self._lanes)
            await asyncio.gather(*(self._run_lane(lane, n, outcomes, slots) for n, lane in enumerate(lanes)))
        await self._remember(work, outcomes)
        return outcomes

    async def _seen(self, records: Sequence[Record]) -> set[str]:
        """One ledger query for the batch: events already processed, records already dead-lettered."""
        marks = {record.headers.get("ce_id") or "" for record in records} | {
            _dead_letter_mark(record) for record in records
        }
        marks.discard("")
        if not marks:
            return set()
        query = {"_id": {"$in": list(marks)}}
        return {str(doc["_id"]) async for doc in self._ledger.find(query, {"_id": 1})}

    async def _run_lane(
        self, lane: list[list[_Work]], turns: int, outcomes: list[str], slots: asyncio.Semaphore
    ) -> None:
        for _ in range(turns):  # the lanes before run to their first round trip to the store
            await asyncio.sleep(0)
        await asyncio.gather(*(self._run_in_order(group, outcomes, slots) for group in lane))

    async def _run_in_order(self, group: list[_Work], outcomes: list[str], slots: asyncio.Semaphore) -> None:
        async with slots:
            for item in group:
                outcomes[item.index] = await self._run(item)

    async def _run(self, item: _Work) -> str:
        # Each record continues the trace of the change that published it: in a span of its own
        # when spans are read, else in that change's context (a span nobody sees would only add
        # a link nobody follows; the trace id still reaches problem documents and the events the
        # handler writes). A record without one starts a trace in a span of its own.
        context, span = _trace_of(item)
        if span is not None:
            with span:
                outcome = await self._run_with_retries(item)
        else:
            token = otel_context.attach(context)
            try:
                outcome = await self._run_with_retries(item)
            finally:
                otel_context.detach(token)
        if outcome == "processed":  # a dead letter is counted where it is sent
            metrics.consumed(item.envelope.type, outcome).inc()
        return outcome

    async def _run_with_retries(self, item: _Work) -> str:
        ce_type, event_id = item.envelope.type, item.envelope.id
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                await item.route.handler(item.event, item.envelope)
                if self._waiting_for_store:
                    log.warning("the store is reachable again; records flow")
                    self._waiting_for_store = False
                return "processed"
            except PermanentError as error:
                await self._to_dlq(item.record, error, attempt)
                return "dead_lettered"
            except asyncio.CancelledError:
                raise
            except UNREACHABLE as error:
                # The store is down, not the record bad: dead-lettering it would lose its effect.
                # Wait for the store (this aggregate's records wait with it; offsets stay put).
                attempt -= 1
                if not self._waiting_for_store:
                    log.warning("the store is unreachable (%r); records wait until it is back", error)
                self._waiting_for_store = True
                await asyncio.sleep(self._retry.backoff_max_seconds)
                continue
            except Exception as error:
                if attempt >= self._retry.max_attempts:
                    log.exception("giving up on %s %s after %d attempts", ce_type, event_id, attempt)
                    await self._to_dlq(item.record, error, attempt)
                    return "dead_lettered"
                metrics.CONSUMER_RETRIES.labels(type=ce_type).inc()
                log.warning("retrying %s %s (attempt %d): %r", ce_type, event_id, attempt, error)
                await asyncio.sleep(self._retry.delay(attempt))
            finally:
                metrics.handler_seconds(ce_type).observe(time.perf_counter() - started)

    async def _remember(self, work: list[_Work], outcomes: list[str]) -> None:
        """Write the batch's processed events to the ledger in one request. A replica may have
        written some already: its effects were harmless, handlers being idempotent.

        One entry per event. One document per batch (its event ids in an indexed array) was
        slower in matching's flood with two replicas: x0.962 records/s and x1.056 CPU per
        record in 8 alternated rounds."""
        now = datetime.now(UTC)
        entries = [
            {"_id": item.envelope.id, "type": item.envelope.type, "processed_at": now}
            for item in work
            if outcomes[item.index] == "processed"
        ]
        if not entries:
            return
        try:
            await self._ledger.insert_many(entries, ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise

    @staticmethod
    def _decode(route: _Route | None, value: bytes, headers: dict[str, str]) -> tuple[CloudEvent, Event]:
        if route is None:
            raise ValueError("missing ce_type header")
        try:
            data = _json_value(value)
        except ValueError as error:  # not UTF-8, or not JSON
            raise ValueError(f"value is not JSON: {error}") from error
        if not isinstance(data, dict):
            raise ValueError("event data must be a JSON object")
        envelope = CloudEvent.from_kafka(headers, data)
        event = route.event_type.model_validate(data)
        if envelope.subject != event.aggregate_id:
            raise ValueError(
                f"ce_subject {envelope.subject!r} is not the aggregate id {event.aggregate_id!r}"
            )
        return envelope, event

    async def _to_dlq(self, record: Record, error: BaseException, attempts: int) -> None:
        reason = str(error) or type(error).__name__
        dead_headers = {
            **record.headers,
            "dlq_error": reason[:4000],
            "dlq_error_type": type(error).__name__,
            "dlq_consumer_group": self.group_id,
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        await self._dead_letter(dlq_topic(record.topic), record.value, record.key, dead_headers)
        if mark := _dead_letter_mark(record):
            # Its position, so a redelivered batch does not dead-letter it twice; the same event
            # re-driven from the DLQ (at a new position) is processed.
            with contextlib.suppress(DuplicateKeyError):
                await self._ledger.insert_one({"_id": mark, "type": "dead_letter", "at": datetime.now(UTC)})
        log.error("dead-lettered record %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
        metrics.EVENTS_CONSUMED.labels(
            type=record.headers.get("ce_type", "unknown"), outcome="dead_lettered"
        ).inc()


def _json_value(value: bytes) -> Any:
    """A record's value parsed: by pydantic-core's parser, twice as fast as the json module's on
    an event (1.7 us against 3.3 us for a registration) with the same results, and by the json
    module where pydantic-core refuses what it takes (a byte order mark, a lone surrogate)."""
    try:
        return from_json(value)
    except ValueError:
        return json.loads(value)


def _trace_of(item: _Work) -> tuple[Context, AbstractContextManager[Span] | None]:
    """Where the record's handler runs: in a consumer span of the publisher's trace when spans are
    read (the span to enter), else in the publisher's context itself; a record without a trace
    starts one in a span of its own, which, unread, is only its ids (the context to attach).

    No generator-based context manager around each record: that, and `use_span`'s, were 3% of
    matching's main thread in its flood (py-spy, two replicas), for a span nobody reads."""
    parent = propagate.extract(item.record.headers)
    recorded = spans_recorded()
    if not recorded and trace.get_current_span(parent).get_span_context().is_valid:
        return parent, None
    name = f"{item.record.topic} process"
    if not recorded:
        span = tracer.start_span(name, context=parent, kind=SpanKind.CONSUMER)
        return trace.set_span_in_context(span), None
    attributes = {"messaging.message.id": item.envelope.id, "cloudevents.event_type": item.envelope.type}
    scope = tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes)
    return parent, scope


def _by_key(work: list[_Work]) -> list[list[_Work]]:
    """Group a batch's records by key (one aggregate each), keeping their order within a group."""
    groups: dict[tuple[str, int, bytes | None], list[_Work]] = {}
    for item in work:
        record = item.record
        # A record without a key keeps its partition's order.
        order = (record.topic, record.partition if record.key is None else -1, record.key)
        groups.setdefault(order, []).append(item)
    return list(groups.values())


def _lanes(groups: list[list[_Work]], lanes: int) -> list[list[list[_Work]]]:
    """The key groups in at most `lanes` lanes of at least `_LANE_MIN` groups each."""
    lanes = max(1, min(lanes, len(groups) // _LANE_MIN))
    size = max(1, -(-len(groups) // lanes))
    return [groups[start : start + size] for start in range(0, len(groups), size)]


def _dead_letter_mark(record: Record) -> str:
    """The ledger id of a dead-lettered record: its position (none for a record read elsewhere)."""
    if record.partition < 0 or record.offset < 0:
        return ""
    return f"dead-letter:{record.topic}:{record.partition}:{record.offset}"


async def ensure_ledger_index(ledger: AsyncCollection[dict[str, Any]]) -> None:
    """The ledger's `_id` is the event id, unique by construction; index processed_at for pruning."""
    await ledger.create_index("processed_at", name="processed_at")
