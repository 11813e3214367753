"""The outbox relay against real Kafka and a real MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mentorship_schemas import CloudEvent, MentorAvailable
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect
from servicekit.consumer import EventConsumer
from servicekit.kafka import EventProducer, OutgoingRecord
from servicekit.outbox import (
    OutboxRelay,
    ensure_outbox_index,
    new_document,
    outbox_entry,
    with_outbox,
)
from servicekit.telemetry import setup_telemetry

from tests.conftest import Infra
from tests.kafka_records import read_topic

TOPIC = MentorAvailable.topic()


class SimulatedCrash(Exception):
    pass


@pytest.fixture
async def publisher(infra: Infra) -> AsyncIterator[EventProducer]:
    """The relay's producer in the services."""
    producer = EventProducer(infra.kafka_bootstrap_servers, client_id="test-outbox")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def _id(record: OutgoingRecord) -> str:
    return dict(record.headers)["ce_id"].decode()


async def _no_dead_letters(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
    raise AssertionError(f"a dead letter: {headers}")


@pytest.fixture
async def aggregates(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncCollection[dict[str, Any]]:
    collection = mongo[f"test_outbox_{uuid.uuid4().hex[:8]}"]["aggregates"]
    await ensure_outbox_index(collection)
    return collection


async def _published(infra: Infra, ids: list[str]) -> list[Any]:
    """The records on the topic whose ce_id is one of `ids`, in the order they were published."""
    records = await read_topic(
        infra.kafka_bootstrap_servers,
        TOPIC,
        until=lambda rs: sum(r.headers.get("ce_id") in ids for r in rs) >= len(ids),
    )
    return [r for r in records if r.headers.get("ce_id") in ids]


def _entries(org: str, person: str, count: int) -> list[dict[str, Any]]:
    return [
        outbox_entry(
            MentorAvailable(org_id=org, version=v, person_id=person, capacity=3, active_mentees=0),
            source="/mentorship/test",
            time=datetime.now(UTC),
        )
        for v in range(1, count + 1)
    ]


async def test_relay_publishes_exactly_what_was_written_in_order(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    entries = _entries(org, "mentor-1", 3)
    await aggregates.insert_one(new_document({"_id": "mentor-1", "version": 1}, entries[:1]))
    await aggregates.update_one({"_id": "mentor-1"}, with_outbox({"$set": {"version": 3}}, entries[1:]))

    relay = OutboxRelay([aggregates], publisher.send_all)
    assert await relay.run_once() == 3
    assert await relay.run_once() == 0, "a second pass must publish nothing again"

    stored = await aggregates.find_one({"_id": "mentor-1"})
    assert stored is not None
    assert stored["outbox"] == []
    assert stored["outbox_pending"] is False
    assert stored["version"] == 3

    ids = [e["id"] for e in entries]
    mine = await _published(infra, ids)
    assert [r.headers["ce_id"] for r in mine] == ids
    for record, entry in zip(mine, entries, strict=True):
        assert record.key == b"mentor-1"
        assert record.headers["ce_type"] == "mentorship.profiles.MentorAvailable.v1"
        assert record.headers["ce_specversion"] == "1.0"
        assert record.headers["ce_source"] == "/mentorship/test"
        assert record.headers["ce_subject"] == "mentor-1"
        assert record.headers["content-type"] == "application/json"
        assert json.loads(record.value) == entry["data"]


async def test_events_survive_a_crash_between_write_and_publish(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    entries = _entries(org, "mentor-2", 2)
    await aggregates.insert_one(new_document({"_id": "mentor-2", "version": 2}, entries))
    # The process that wrote them died before its relay ran; a new process's relay takes over.
    assert await OutboxRelay([aggregates], publisher.send_all).run_once() == 2
    ids = [e["id"] for e in entries]
    records = await read_topic(
        infra.kafka_bootstrap_servers,
        TOPIC,
        until=lambda rs: sum(r.headers.get("ce_id") in ids for r in rs) >= 2,
    )
    assert [r.headers["ce_id"] for r in records if r.headers.get("ce_id") in ids] == ids


async def test_own_events_are_applied_once_published_and_before_they_leave_the_outbox_again_after_an_outage(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    first = _entries(org, "mentor-7", 1)[0]
    kept = {"seen_by": "this service only"}
    second = outbox_entry(
        MentorAvailable(org_id=org, version=2, person_id="mentor-7", capacity=3, active_mentees=0),
        source="/mentorship/test",
        time=datetime.now(UTC),
        local=kept,
    )
    entries = [first, second]
    ids = [e["id"] for e in entries]
    await aggregates.insert_one(new_document({"_id": "mentor-7", "version": 2}, entries[:1]))
    await aggregates.update_one({"_id": "mentor-7"}, with_outbox({}, entries[1:]))  # read by the relay
    applied: list[tuple[str, int, bool, dict[str, Any]]] = []
    outage = [AutoReconnect("the store went away")]

    async def apply(event: MentorAvailable, envelope: CloudEvent, local: Mapping[str, Any]) -> None:
        stored = await aggregates.find_one({"_id": "mentor-7"})
        assert stored is not None
        pending = [entry["id"] for entry in stored["outbox"]]
        applied.append((envelope.id, event.version, envelope.id in pending, dict(local)))
        if outage:
            raise outage.pop()

    relay = OutboxRelay([aggregates], publisher.send_all)
    relay.on_published(MentorAvailable, apply)
    with pytest.raises(AutoReconnect):
        await relay.run_once()
    stored = await aggregates.find_one({"_id": "mentor-7"})
    assert stored is not None
    assert [e["id"] for e in stored["outbox"]] == ids, "an effect not stored: the events stay pending"
    assert await relay.run_once() == 2
    stored = await aggregates.find_one({"_id": "mentor-7"})
    assert stored is not None
    assert (stored["outbox"], stored["outbox_pending"]) == ([], False)
    # Each event published and applied by both passes (at least once), each time before it left,
    # with what its change kept beside it.
    assert sorted(applied, key=str) == sorted([(ids[0], 1, True, {}), (ids[1], 2, True, kept)] * 2, key=str)
    records = await read_topic(
        infra.kafka_bootstrap_servers,
        TOPIC,
        until=lambda rs: sum(r.headers.get("ce_id") in ids for r in rs) >= 4,
    )
    mine = [r for r in records if r.headers.get("ce_id") in ids]
    assert [r.headers["ce_id"] for r in mine] == ids * 2
    assert not any("this service only" in str(r.value) + str(r.headers) for r in mine), "never published"
    assert await relay.run_once() == 0
    assert len(applied) == 4, "nothing applied again once the outbox is empty"


async def test_an_own_event_whose_effect_fails_is_logged_and_the_outbox_goes_on(
    aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer, caplog: pytest.LogCaptureFixture
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    (entry,) = _entries(org, "mentor-8", 1)
    await aggregates.insert_one(new_document({"_id": "mentor-8", "version": 1}, [entry]))
    failures = "mentorship_published_effect_failures_total"
    labels = {"type": entry["type"]}
    before = REGISTRY.get_sample_value(failures, labels) or 0.0

    async def broken(event: MentorAvailable, envelope: CloudEvent, local: Mapping[str, Any]) -> None:
        raise ValueError("no program of that id")

    relay = OutboxRelay([aggregates], publisher.send_all)
    relay.on_published(MentorAvailable, broken)
    assert await relay.run_once() == 1
    stored = await aggregates.find_one({"_id": "mentor-8"})
    assert stored is not None
    assert stored["outbox"] == []
    assert f"the effect of published {entry['type']} {entry['id']} on this service failed" in caplog.text
    assert "no program of that id" in caplog.text
    assert REGISTRY.get_sample_value(failures, labels) == before + 1


async def test_crash_after_publish_republishes_and_the_consumer_applies_each_event_once(
    infra: Infra,
    aggregates: AsyncCollection[dict[str, Any]],
    publisher: EventProducer,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    entries = _entries(org, "mentor-3", 3)
    await aggregates.insert_one(new_document({"_id": "mentor-3", "version": 3}, entries))

    async def send_two_then_die(records: Sequence[OutgoingRecord]) -> None:
        await publisher.send_all(records[:2])
        raise SimulatedCrash  # died after two sends, before removing anything from the outbox

    with pytest.raises(SimulatedCrash):
        await OutboxRelay([aggregates], send_two_then_die).run_once()
    stored = await aggregates.find_one({"_id": "mentor-3"})
    assert stored is not None
    assert len(stored["outbox"]) == 3, "nothing is removed before it is sent"

    assert await OutboxRelay([aggregates], publisher.send_all).run_once() == 3
    ids = [e["id"] for e in entries]
    records = await read_topic(
        infra.kafka_bootstrap_servers,
        TOPIC,
        until=lambda rs: sum(r.headers.get("ce_id") in ids for r in rs) >= 5,
    )
    mine = [r for r in records if r.headers.get("ce_id") in ids]
    assert [r.headers["ce_id"] for r in mine] == [ids[0], ids[1], *ids], "at-least-once: two repeats"

    applied: list[int] = []

    async def count(event: MentorAvailable, envelope: CloudEvent) -> None:
        applied.append(event.version)

    consumer = EventConsumer(
        group_id="test-relay",
        ledger=mongo[f"test_ledger_{uuid.uuid4().hex[:8]}"]["processed_events"],
        dead_letter=_no_dead_letters,
    )
    consumer.add(MentorAvailable, count)
    outcomes = [
        await consumer.handle_record(topic=r.topic, value=r.value, key=r.key, headers=r.headers) for r in mine
    ]
    assert outcomes == ["processed", "processed", "duplicate", "duplicate", "processed"]
    assert applied == [1, 2, 3]


async def test_event_added_while_relaying_stays_pending(
    aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    first, late = _entries(org, "mentor-4", 2)
    await aggregates.insert_one(new_document({"_id": "mentor-4", "version": 1}, [first]))

    async def send_and_race(records: Sequence[OutgoingRecord]) -> None:
        await publisher.send_all(records)
        if first["id"] in map(_id, records):  # a request adds an event while the relay is mid-pass
            await aggregates.update_one({"_id": "mentor-4"}, with_outbox({"$set": {"version": 2}}, [late]))

    assert await OutboxRelay([aggregates], send_and_race).run_once() == 1
    stored = await aggregates.find_one({"_id": "mentor-4"})
    assert stored is not None
    assert [e["id"] for e in stored["outbox"]] == [late["id"]]
    assert stored["outbox_pending"] is True
    assert await OutboxRelay([aggregates], publisher.send_all).run_once() == 1


async def test_outbox_emptied_and_refilled_to_the_same_length_meanwhile_keeps_the_new_events(
    aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """Another replica's relay publishes and empties the outbox, and a write adds as many events
    as were read: this relay must not take the new ones for those it sent."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    first, late = _entries(org, "mentor-5", 2)
    await aggregates.insert_one(new_document({"_id": "mentor-5", "version": 1}, [first]))

    async def send_and_race(records: Sequence[OutgoingRecord]) -> None:
        await publisher.send_all(records)
        if first["id"] in map(_id, records):
            await aggregates.update_one(
                {"_id": "mentor-5"}, {"$set": {"outbox": [], "outbox_pending": False}}
            )
            await aggregates.update_one({"_id": "mentor-5"}, with_outbox({"$set": {"version": 2}}, [late]))

    assert await OutboxRelay([aggregates], send_and_race).run_once() == 1
    stored = await aggregates.find_one({"_id": "mentor-5"})
    assert stored is not None
    assert [e["id"] for e in stored["outbox"]] == [late["id"]]
    assert stored["outbox_pending"] is True


async def test_the_relays_producer_sends_each_event_in_one_span_that_continues_the_writers_trace(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]]
) -> None:
    """Through the services' own producer: one producer span per event, a child of the span that
    wrote it, and the record's traceparent names that producer span (the consumer continues it)."""
    spans = InMemorySpanExporter()
    setup_telemetry("outbox-tests").add_span_processor(SimpleSpanProcessor(spans))
    org = f"org-{uuid.uuid4().hex[:8]}"
    with trace.get_tracer("tests").start_as_current_span("the request") as request:
        entries = _entries(org, "mentor-6", 2)  # each keeps the trace context of this request
    await aggregates.insert_one(new_document({"_id": "mentor-6", "version": 2}, entries))
    producer = EventProducer(infra.kafka_bootstrap_servers, client_id="test-outbox")
    await producer.start()
    try:
        assert await OutboxRelay([aggregates], producer.send_all).run_once() == 2
    finally:
        await producer.stop()

    ids = [e["id"] for e in entries]
    mine = await _published(infra, ids)
    assert [r.headers["ce_id"] for r in mine] == ids
    relayed = [
        s for s in spans.get_finished_spans() if s.name.startswith("outbox relay") and s.attributes
        and s.attributes.get("messaging.message.id") in ids
    ]  # fmt: skip
    assert len(relayed) == 2, [s.name for s in relayed]
    request_context = request.get_span_context()
    by_id = {str(span.attributes["messaging.message.id"]): span for span in relayed if span.attributes}
    for record in mine:
        span = by_id[record.headers["ce_id"]]
        assert span.kind is SpanKind.PRODUCER
        assert span.parent is not None
        assert span.parent.span_id == request_context.span_id
        assert span.context.trace_id == request_context.trace_id
        trace_id, span_id = record.headers["traceparent"].split("-")[1:3]
        assert (int(trace_id, 16), int(span_id, 16)) == (span.context.trace_id, span.context.span_id)
        assert record.headers["ce_specversion"] == "1.0"
        assert json.loads(record.value) == next(
            e["data"] for e in entries if e["id"] == record.headers["ce_id"]
        )


async def test_each_own_effect_runs_in_a_span_under_its_events_producer_span_and_a_failure_marks_it(
    aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer, caplog: pytest.LogCaptureFixture
) -> None:
    """What a service does with its own published event shows in the trace of the change that
    wrote it: one span per effect, a child of the event's producer span, current while the handler
    runs (what it writes continues that trace); a failed effect's span says so."""
    spans = InMemorySpanExporter()
    setup_telemetry("outbox-tests").add_span_processor(SimpleSpanProcessor(spans))
    org = f"org-{uuid.uuid4().hex[:8]}"
    with trace.get_tracer("tests").start_as_current_span("the request") as request:
        entries = _entries(org, "mentor-9", 2)
    await aggregates.insert_one(new_document({"_id": "mentor-9", "version": 2}, entries))
    current: dict[str, trace.SpanContext] = {}

    async def apply(event: MentorAvailable, envelope: CloudEvent, local: Mapping[str, Any]) -> None:
        current[envelope.id] = trace.get_current_span().get_span_context()
        if event.version == 2:
            raise ValueError("this effect cannot be applied")

    relay = OutboxRelay([aggregates], publisher.send_all)
    relay.on_published(MentorAvailable, apply)
    assert await relay.run_once() == 2

    ids = [e["id"] for e in entries]
    finished = spans.get_finished_spans()
    ours = [s for s in finished if s.attributes and s.attributes.get("messaging.message.id") in ids]
    producers = {str(s.attributes["messaging.message.id"]): s for s in ours if s.kind is SpanKind.PRODUCER}
    effects = {str(s.attributes["messaging.message.id"]): s for s in ours if s.kind is SpanKind.INTERNAL}
    assert sorted(producers) == sorted(effects) == sorted(ids), [s.name for s in ours]
    for event_id in ids:
        effect, producer = effects[event_id], producers[event_id]
        assert effect.name == f"{MentorAvailable.ce_type()} applied once published"
        assert effect.parent is not None
        assert effect.parent.span_id == producer.context.span_id
        assert effect.context.trace_id == request.get_span_context().trace_id
        assert current[event_id].span_id == effect.context.span_id, "the handler runs in its span"
    assert effects[ids[0]].status.is_ok
    assert not effects[ids[1]].status.is_ok
    assert "this effect cannot be applied" in str(effects[ids[1]].status.description)
    assert "failed" in caplog.text


async def test_a_timed_scan_leaves_events_younger_than_its_interval_to_the_replica_that_wrote_them(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """Pending events nobody named here: at start the relay takes them all (a crash's leftovers);
    later, a timed scan takes only those older than its interval (by the writers' clock), as a live
    replica's relay has its own young events in hand and would publish them as well, and clears a
    pending flag left with no event under it."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    now = [datetime.now(UTC)]

    def entry(person: str, at: datetime) -> dict[str, Any]:
        event = MentorAvailable(org_id=org, version=1, person_id=person, capacity=3, active_mentees=0)
        return outbox_entry(event, source="/mentorship/test", time=at)

    async def pending(person: str) -> bool:
        stored = await aggregates.find_one({"_id": person})
        assert stored is not None
        return bool(stored["outbox_pending"])

    left = entry("left-behind", now[0] - timedelta(hours=1))
    await aggregates.insert_one(new_document({"_id": "left-behind", "version": 1}, [left]))
    relay = OutboxRelay(
        [aggregates], publisher.send_all, poll_seconds=0.05, scan_seconds=0.2, clock=lambda: now[0]
    )
    running = asyncio.create_task(relay.run())
    try:
        await _until(lambda: pending("left-behind"), False)  # the first scan takes everything
        young, old = entry("young", now[0]), entry("old", now[0] - timedelta(seconds=1))
        await aggregates.insert_one(new_document({"_id": "young", "version": 1}, [young]))
        await aggregates.insert_one(new_document({"_id": "old", "version": 1}, [old]))
        await aggregates.insert_one({"_id": "flag-alone", "version": 1, "outbox": [], "outbox_pending": True})
        await _until(lambda: pending("old"), False)
        await _until(lambda: pending("flag-alone"), False)
        await asyncio.sleep(0.6)  # three timed scans more
        assert await pending("young"), "younger than a scan interval: its writer's to publish"
        now[0] += timedelta(seconds=1)
        await _until(lambda: pending("young"), False)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    ids = [left["id"], old["id"], young["id"]]
    published = sorted(r.headers["ce_id"] for r in await _published(infra, ids))
    assert published == sorted(ids), "each published once (keyed by person: no order across them)"


async def _until(value: Callable[[], Awaitable[bool]], expected: bool, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await value() != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still not {expected}"
        await asyncio.sleep(0.02)


class _Finds(monitoring.CommandListener):
    """Counts the `find` commands a client sends."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "find"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.asynccontextmanager
async def _counting_finds(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]]
) -> AsyncIterator[tuple[AsyncCollection[dict[str, Any]], _Finds]]:
    """`aggregates` through a client of its own that counts the `find` commands it sends."""
    finds = _Finds()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongodb_url, tz_aware=True, event_listeners=[finds]
    )
    try:
        yield client[aggregates.database.name][aggregates.name], finds
    finally:
        await client.close()


async def test_an_inserted_documents_events_are_published_as_handed_over_and_a_changed_one_is_read(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """A writer that inserted a document hands its outbox to the relay, which publishes and clears
    it without reading it back; a document named again before the pass (a change appended more)
    is read, and all its events go out in order."""
    async with _counting_finds(infra, aggregates) as (collection, finds):
        org = f"org-{uuid.uuid4().hex[:8]}"
        relay = OutboxRelay([collection], publisher.send_all)
        inserted = _entries(org, "mentor-7", 2)
        await collection.insert_one(new_document({"_id": "mentor-7", "version": 1}, inserted))
        relay.wake(collection.name, "mentor-7", inserted)
        assert await relay.run_hinted() == 2
        assert finds.count == 0, "the relay read a document whose outbox it was handed"
        stored = await collection.find_one({"_id": "mentor-7"})
        assert stored is not None
        assert (stored["outbox"], stored["outbox_pending"]) == ([], False)

        first, late = _entries(org, "mentor-8", 2)
        await collection.insert_one(new_document({"_id": "mentor-8", "version": 1}, [first]))
        relay.wake(collection.name, "mentor-8", [first])
        await collection.update_one({"_id": "mentor-8"}, with_outbox({"$set": {"version": 2}}, [late]))
        relay.wake(collection.name, "mentor-8")
        assert await relay.run_hinted() == 2
        ids = [first["id"], late["id"]]
        assert [r.headers["ce_id"] for r in await _published(infra, ids)] == ids
        assert [r.headers["ce_id"] for r in await _published(infra, [e["id"] for e in inserted])] == [
            e["id"] for e in inserted
        ]


async def test_a_changes_events_handed_over_follow_those_named_before_and_a_failed_pass_reads_them(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """A writer that knows a document holds nothing else unsent hands a change's events over too:
    named again before a pass, they follow the earlier ones without a read. A pass that fails
    leaves its documents to be read: the events of a later write must not go before those it left."""
    async with _counting_finds(infra, aggregates) as (collection, finds):
        org = f"org-{uuid.uuid4().hex[:8]}"
        first, second = _entries(org, "mentor-5", 2)
        await collection.insert_one(new_document({"_id": "mentor-5", "version": 1}, [first]))
        broker_away = False

        async def send(records: Sequence[OutgoingRecord]) -> None:
            if broker_away:
                raise AutoReconnect("the broker is away")
            await publisher.send_all(records)

        relay = OutboxRelay([collection], send)
        relay.wake(collection.name, "mentor-5", [first])
        await collection.update_one({"_id": "mentor-5"}, with_outbox({"$set": {"version": 2}}, [second]))
        relay.wake(collection.name, "mentor-5", [second])
        assert await relay.run_hinted() == 2
        assert finds.count == 0, "the relay read a document whose events it was handed"
        stored = await collection.find_one({"_id": "mentor-5"})
        assert stored is not None
        assert (stored["outbox"], stored["outbox_pending"]) == ([], False)
        assert [r.headers["ce_id"] for r in await _published(infra, [first["id"], second["id"]])] == [
            first["id"],
            second["id"],
        ]

        late, later = _entries(f"{org}-b", "mentor-6", 2)
        await collection.insert_one(new_document({"_id": "mentor-6", "version": 1}, [late]))
        relay.wake(collection.name, "mentor-6", [late])

        broker_away = True
        with pytest.raises(AutoReconnect):
            await relay.run_hinted()
        broker_away = False
        await collection.update_one({"_id": "mentor-6"}, with_outbox({"$set": {"version": 2}}, [later]))
        relay.wake(collection.name, "mentor-6", [later])
        finds.count = 0
        assert await relay.run_hinted() == 2, "both, read: the failed pass's event first"
        assert finds.count == 1
        ids = [late["id"], later["id"]]
        assert [r.headers["ce_id"] for r in await _published(infra, ids)] == ids


async def test_a_document_named_with_events_a_scan_did_not_read_is_read_after_the_scan(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """The scan read a document, then a change added an event and named it with that event: the
    scan's pass does not count it as sent, and the next pass reads what is left."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    read, added = _entries(org, "mentor-4", 2)
    await aggregates.insert_one(new_document({"_id": "mentor-4", "version": 1}, [read]))
    relay: OutboxRelay

    async def send_then_change(records: Sequence[OutgoingRecord]) -> None:
        await publisher.send_all(records)
        if any(_id(record) == read["id"] for record in records):
            await aggregates.update_one({"_id": "mentor-4"}, with_outbox({"$set": {"version": 2}}, [added]))
            relay.wake(aggregates.name, "mentor-4", [read, added])

    relay = OutboxRelay([aggregates], send_then_change)
    assert await relay.run_once() == 1
    assert await relay.run_hinted() == 1
    ids = [read["id"], added["id"]]
    assert [r.headers["ce_id"] for r in await _published(infra, ids)] == ids
    stored = await aggregates.find_one({"_id": "mentor-4"})
    assert stored is not None
    assert (stored["outbox"], stored["outbox_pending"]) == ([], False)


async def test_events_named_while_a_read_pass_sends_them_go_out_once(
    infra: Infra, aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """A document is read for its events (a writer did not know what it held); a second write had
    added one before the read, and its writer names it with that event while the pass sends it:
    it went out with what was read, and the next pass does not send it again."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    first, added = _entries(org, "mentor-2", 2)
    await aggregates.insert_one(new_document({"_id": "mentor-2", "version": 1}, [first]))
    await aggregates.update_one({"_id": "mentor-2"}, with_outbox({"$set": {"version": 2}}, [added]))
    relay: OutboxRelay

    async def send_then_name(records: Sequence[OutgoingRecord]) -> None:
        await publisher.send_all(records)
        relay.wake(aggregates.name, "mentor-2", [added])

    relay = OutboxRelay([aggregates], send_then_name)
    relay.wake(aggregates.name, "mentor-2")
    assert await relay.run_hinted() == 2
    assert await relay.run_hinted() == 0
    ids = [first["id"], added["id"]]
    assert [r.headers["ce_id"] for r in await _published(infra, ids)] == ids


async def test_an_insert_named_while_a_scan_relays_it_is_not_published_again(
    aggregates: AsyncCollection[dict[str, Any]], publisher: EventProducer
) -> None:
    """The scan read a new document before its writer named it: the scan publishes its events,
    and the writer's handing over, arriving meanwhile, must not send them a second time."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    entries = _entries(org, "mentor-9", 1)
    await aggregates.insert_one(new_document({"_id": "mentor-9", "version": 1}, entries))
    relay: OutboxRelay

    async def send_then_name(records: Sequence[OutgoingRecord]) -> None:
        await publisher.send_all(records)
        relay.wake(aggregates.name, "mentor-9", entries)

    relay = OutboxRelay([aggregates], send_then_name)
    assert await relay.run_once() == 1
    assert await relay.run_hinted() == 0
