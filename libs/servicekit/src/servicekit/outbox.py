"""The embedded outbox and its relay.

A state change and the events it causes are written in ONE single-document update: the pending
events sit in the aggregate document's `outbox` array (and `outbox_pending` is set, so the relay
finds them through an index). The relay publishes them in order with the idempotent producer and
then removes them. No multi-document transaction is needed (the local emulator has none).

The relay does not scan every collection on every pass: a write that added events names its
document (`wake(collection, id)`), and the relay reads those documents by `_id`. A writer that
knows the document holds no other event the relay was not named also hands over what it wrote, and
those are published after the document's earlier ones without reading it: an insert (a new
document's outbox is exactly its first events), and a change to a document that this process wrote
last or that was read with an empty outbox (`AggregateStore`). A pass that fails leaves its
documents to be read, so a later write's events never go out before events the failure left. In
matching's flood with two replicas, handing over the events of the seats its pairs change instead
of reading them back took 4% off its CPU per record (5 alternated rounds: x0.957; records per
second x1.06). A scan runs every `scan_seconds`, for events a
crashed process or another replica left behind; it leaves named documents to the hinted pass and
goes on only while it finds unnamed ones. Given the writers' clock, it takes only documents whose
oldest pending event is older than that interval: younger ones are another live replica's, whose
relay has them in hand. In two floods of matching with two replicas, scans that took them
published 16% and 6% of the pairs' events twice (each then applied twice, and its clearing write
missed); none with this. A pending flag with no event under it is cleared by any scan. At start,
and after a failed pass, a scan takes every pending document.

Each entry keeps the W3C trace context of the code that wrote it, so the relay's publish (and so
every consumer downstream) continues the trace of the request that caused the change.

What a service's own events change in its own data (`on_published`) is applied by the relay, once
the broker has acknowledged the events and before they leave the outbox, instead of by consuming
its own topic: no fetch, decoding or ledger for them. A crash or another replica's relay may
publish an entry again, and apply its effect again: those handlers must be idempotent, as a
consumer's are. Where spans are read, each effect has its span under the event's producer span, as
a consumer's processing would have under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from mentorship_schemas import CloudEvent, Event
from mentorship_schemas.envelope import ce_headers
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure, InvalidOperation

from servicekit import metrics
from servicekit.grouped import grouping
from servicekit.ids import new_id
from servicekit.kafka import OutgoingRecord, json_value
from servicekit.mongo import in_one_reply
from servicekit.outage import kafka_client_log
from servicekit.telemetry import spans_recorded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Document = dict[str, Any]
# Sends records and returns once the broker has acknowledged them all (EventProducer.send_all).
SendFn = Callable[[Sequence[OutgoingRecord]], Awaitable[None]]
# What one of the service's own events changes in its own data: (event, envelope, what the change
# kept for it beside the event: `Emitted.local`, empty when nothing).
PublishedHandler = Callable[[Any, CloudEvent, Mapping[str, Any]], Awaitable[None]]


_last_carrier: tuple[Context | None, dict[str, str]] = (None, {})


def trace_carrier() -> dict[str, str]:
    """The current trace context, as `outbox_entry` keeps it. A record's handler writes several
    changes in the same context (contexts are immutable): the last one's carrier is reused."""
    global _last_carrier
    current = otel_context.get_current()
    context, carrier = _last_carrier
    if context is not current:
        carrier = {}
        propagate.inject(carrier, context=current)
        _last_carrier = (current, carrier)
    return dict(carrier)


def outbox_entry(
    event: Event,
    *,
    source: str,
    time: datetime,
    event_id: str | None = None,
    trace: dict[str, str] | None = None,
    local: Mapping[str, Any] | None = None,
) -> Document:
    """The outbox form of an event, carrying the current trace context (`trace`: that context,
    when the caller has it already, as for several events of one change).

    Pass `event_id` derived from the cause (see `servicekit.ids.derived_id`) whenever the same
    cause may be processed twice: the consumers downstream then drop the repeat by its id.
    `local`: what the service's own `on_published` handler of the event needs besides it (plain
    values); it stays in the store and is never published.
    """
    carrier = dict(trace) if trace is not None else trace_carrier()
    entry: Document = {
        "id": event_id or new_id(),
        "type": event.ce_type(),
        "source": source,
        "subject": event.aggregate_id,
        "key": event.partition_key,
        # As BSON keeps it (milliseconds): the same event has the same time however it is relayed.
        "time": time.replace(microsecond=time.microsecond - time.microsecond % 1000),
        "topic": event.topic(),
        "data": event.model_dump(mode="json"),
        "trace": carrier,
    }
    if local:
        entry["local"] = dict(local)
    return entry


def with_outbox(update: Document, entries: list[Document]) -> Document:
    """Merge pending events into an update document (`$set`, `$inc`, ... are kept)."""
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})["outbox"] = {"$each": entries}
    merged.setdefault("$set", {})["outbox_pending"] = True
    return merged


def new_document(document: Document, entries: list[Document]) -> Document:
    """A document to insert together with its first pending events."""
    return {**document, "outbox": entries, "outbox_pending": bool(entries)}


async def ensure_outbox_index(collection: AsyncCollection[Document]) -> None:
    await collection.create_index([("outbox_pending", ASCENDING)], name="outbox_pending")


def cloud_event_of(entry: Document) -> CloudEvent:
    # The entry was built from a validated event by `outbox_entry`: no second validation per send.
    return CloudEvent.model_construct(
        id=entry["id"],
        source=entry["source"],
        type=entry["type"],
        subject=entry["subject"],
        time=entry["time"],
        data=entry["data"],
        # Entries written before events had their own key are keyed by their subject, as then.
        partitionkey=entry.get("key"),
    )


def record_of(entry: Document, headers: Mapping[str, str]) -> OutgoingRecord:
    """The record of an outbox entry, as `CloudEventPublisher` sends `cloud_event_of(entry)`:
    `headers` (its trace context) and the event's `ce_*` headers, its data as JSON, keyed by its
    partition key. Built from the entry itself: it was built from a validated event."""
    key = entry.get("key")
    attributes = ce_headers(entry["id"], entry["source"], entry["type"], entry["time"], entry["subject"], key)
    return OutgoingRecord(
        entry["topic"],
        (key or entry["subject"]).encode(),
        json_value(entry["data"]),
        [(name, value.encode()) for name, value in {**headers, **attributes}.items()],
    )


def _producer_span(entry: Document) -> Span:
    """The one producer span of the event, a child of the change that wrote it (not made current:
    its context goes into the headers, and nothing else runs inside it)."""
    return tracer.start_span(
        f"outbox relay {entry['type']}",
        context=propagate.extract(entry.get("trace") or {}),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": entry["topic"],
            "messaging.message.id": entry["id"],
        },
    )


@contextlib.contextmanager
def _in_effect_trace(entry: Document, sent_in: Context | None) -> Iterator[Span | None]:
    """Where this service's own effect of a published event runs: in a span under the event's
    producer span when spans are read (the trace of the change that wrote the event shows what
    its own service did with it, as a consumer's span would), else in the writer's context."""
    if sent_in is not None:
        attributes = {"messaging.message.id": entry["id"], "cloudevents.event_type": entry["type"]}
        with tracer.start_as_current_span(
            f"{entry['type']} applied once published", context=sent_in, attributes=attributes
        ) as span:
            yield span
        return
    token = otel_context.attach(propagate.extract(entry.get("trace") or {}))
    try:
        yield None
    finally:
        otel_context.detach(token)


class OutboxRelay:
    """Publishes pending outbox entries of the registered collections, then removes them.

    Several replicas may run a relay: an entry can then be published twice (at-least-once), and
    consumers drop the repeat by its `ce_id`. Entries of one document are published in order.
    """

    def __init__(
        self,
        collections: list[AsyncCollection[Document]],
        send: SendFn,
        *,
        poll_seconds: float = 0.5,
        batch_size: int = 500,
        scan_seconds: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._collections = collections
        self._send = send
        self._poll_seconds = poll_seconds
        self._scan_seconds = scan_seconds if scan_seconds is not None else poll_seconds
        # The clock the writers stamp events with (`Outbox.now`): what a timed scan leaves to them.
        self._clock = clock
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        # Per collection, the documents named by `wake`: with the events to publish when their
        # writers knew them all (`wake`), else None (read it).
        self._hinted: dict[str, dict[Any, list[Document] | None]] = {}
        self._scan_due = True
        self._on_published: dict[str, tuple[type[Event], PublishedHandler]] = {}

    def on_published(self, event_type: type[Event], handler: PublishedHandler) -> None:
        """Apply `handler` to each published event of `event_type`, after the broker acknowledged it
        and before it leaves the outbox (see the module's docstring). A handler that finds the store
        unreachable fails the pass: its events stay pending, and are published and applied again.
        Any other error is logged with the event's id and the relay goes on: an event it can never
        apply must not stop the outbox."""
        self._on_published[event_type.ce_type()] = (event_type, handler)

    def wake(
        self, collection: str | None = None, document_id: Any = None, entries: list[Document] | None = None
    ) -> None:
        """Ask for a pass now: for one document that got events, or (no arguments) a full scan.
        `entries`: the events the write added, when the writer knows that the document holds no
        others this relay has not been named (`AggregateStore` knows after an insert, and after a
        change to a document that held none, or that it wrote last); the relay then publishes them
        as they are, after any named before, without reading the document."""
        if collection is None or document_id is None:
            self._scan_due = True
        else:
            hinted = self._hinted.setdefault(collection, {})
            # Named again before a pass: its new events follow those named before, unless a writer
            # did not know what the document holds (then it is read).
            known = hinted.get(document_id, [])
            hinted[document_id] = known + entries if known is not None and entries else None
        self._wake.set()

    async def run_once(self) -> int:
        """One full pass over every collection; returns how many events were published."""
        return (await self._scan())[0]

    async def _scan(self, written_by: datetime | None = None) -> tuple[int, bool]:
        """Publish up to a batch of pending documents per collection, leaving those named by
        `wake` to the hinted pass (and, given `written_by`, those whose oldest event is younger).
        Returns (events published, whether a collection may hold more pending documents nobody
        named): only then is another scan worth its cost (the emulator scans the whole collection
        for it)."""
        published, more = 0, False
        query: Document = {"outbox_pending": True}
        if written_by is not None:  # and a flag left with no event under it, cleared in passing
            query["$or"] = [{"outbox.0.time": {"$lte": written_by}}, {"outbox": {"$size": 0}}]
        for collection in self._collections:
            cursor = collection.find(query, {"outbox": 1}, limit=self._batch_size)
            found = [document async for document in cursor]
            hinted = self._hinted.get(collection.name, {})
            documents = [document for document in found if document["_id"] not in hinted]
            if documents:
                published += await self._relay_read(collection, documents)
            more = more or (len(found) >= self._batch_size and len(documents) == len(found))
        return published, more

    async def run_hinted(self) -> int:
        """Publish the events of the documents named by `wake`; returns how many."""
        published = 0
        for collection in self._collections:
            hinted = self._hinted.pop(collection.name, {})
            try:
                published += await self._run_named(collection, hinted)
            except BaseException:
                # Events of these documents may be left unsent, and a document named with the
                # events of its next write must not have them sent first: each is read next time.
                again = self._hinted.setdefault(collection.name, {})
                again.update(dict.fromkeys(hinted))
                raise
        return published

    async def _run_named(
        self, collection: AsyncCollection[Document], hinted: dict[Any, list[Document] | None]
    ) -> int:
        published = 0
        handed = [{"_id": key, "outbox": entries} for key, entries in hinted.items() if entries]
        for start in range(0, len(handed), self._batch_size):
            published += await self._relay(collection, handed[start : start + self._batch_size])
        ids = {key for key, entries in hinted.items() if entries is None}
        while ids:
            chunk = [ids.pop() for _ in range(min(len(ids), self._batch_size))]
            query = {"_id": {"$in": chunk}, "outbox_pending": True}
            cursor = collection.find(query, {"outbox": 1}, batch_size=in_one_reply(chunk))
            documents = [document async for document in cursor]
            if documents:
                published += await self._relay_read(collection, documents)
        return published

    async def _relay_read(self, collection: AsyncCollection[Document], documents: list[Document]) -> int:
        """`_relay` of documents as read. One named since the read (its writer's `wake` came while
        this read or sent it): the events it was named with went out with what was read, unless
        it got more after the read (then it is read again)."""
        published = await self._relay(collection, documents)
        named = self._hinted.get(collection.name, {})
        for document in documents:
            entries = named.get(document["_id"])
            if entries is not None:
                read = {entry["id"] for entry in document.get("outbox") or []}
                if all(entry["id"] in read for entry in entries):
                    del named[document["_id"]]
                else:
                    named[document["_id"]] = None
        return published

    async def _relay(self, collection: AsyncCollection[Document], documents: list[Document]) -> int:
        # Send everything together and wait for the acks: the idempotent producer keeps each
        # partition's order (so each aggregate's), and one round trip serves the batch.
        records, spans = [], []
        sent_in: dict[str, Context] = {}  # by event id, when spans are read: its producer span's
        types: Counter[str] = Counter()
        recorded = spans_recorded()
        for document in documents:
            for entry in document.get("outbox") or []:
                written: dict[str, str] = entry.get("trace") or {}
                # Nothing reads spans here: a span made only to name itself in the headers would
                # be a child nobody sees of a parent nobody sees. The record carries the writer's
                # context as stored, and the trace goes on downstream all the same (an event
                # written outside any trace starts one in its producer span).
                if recorded or "traceparent" not in written:
                    span = _producer_span(entry)
                    spans.append(span)
                    headers: dict[str, str] = {}
                    context = trace.set_span_in_context(span)
                    propagate.inject(headers, context=context)
                    if recorded:  # its own effects go under it (`_in_effect_trace`)
                        sent_in[entry["id"]] = context
                else:
                    headers = written
                records.append(record_of(entry, headers))
                types[entry["type"]] += 1
        try:
            await self._send(records)
        except Exception as error:
            for span in spans:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
            raise
        finally:
            for span in spans:
                span.end()
        for name, count in types.items():
            metrics.EVENTS_PUBLISHED.labels(type=name).inc(count)
        if self._on_published:
            published = [entry for document in documents for entry in document.get("outbox") or []]
            await self._apply_published(published, sent_in)

        # Only now, with every event acknowledged, remove them from the outboxes: in one request,
        # each document cleared only if its outbox is still what we read. Writers only append to an
        # outbox and relays only empty it, so its first id and its length say it is unchanged.
        sent = [(document["_id"], document.get("outbox") or []) for document in documents]
        cleared = await collection.bulk_write(
            [
                UpdateOne(
                    {"_id": key, "outbox.0.id": entries[0]["id"], "outbox": {"$size": len(entries)}},
                    {"$set": {"outbox": [], "outbox_pending": False}},
                )
                if entries
                else UpdateOne({"_id": key, "outbox": []}, {"$set": {"outbox_pending": False}})
                for key, entries in sent
            ],
            ordered=False,
        )
        if cleared.matched_count < len(sent):
            # Events were added to some meanwhile: remove exactly ours, leave theirs pending
            # (a no-op where the outbox was cleared above).
            ours = [
                UpdateOne({"_id": key}, {"$pull": {"outbox": {"id": {"$in": [e["id"] for e in entries]}}}})
                for key, entries in sent
                if entries
            ]
            if ours:
                await collection.bulk_write(ours, ordered=False)
        return sum(len(entries) for _, entries in sent)

    async def _apply_published(self, entries: list[Document], sent_in: Mapping[str, Context]) -> None:
        """The `on_published` handlers of these entries, together: their reads and writes are
        grouped as a consumer batch's are (servicekit.grouped). `sent_in`: the producer span of
        each event, when spans are read (each effect then gets a span of its own under it)."""
        handlers = self._on_published
        work = [(handlers[entry["type"]], entry) for entry in entries if entry["type"] in handlers]
        if not work:
            return
        with grouping():
            outcomes = await asyncio.gather(
                *(
                    self._apply_one(event_type, handler, entry, sent_in.get(entry["id"]))
                    for (event_type, handler), entry in work
                ),
                return_exceptions=True,
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the store unreachable (the others are logged by _apply_one)

    @staticmethod
    async def _apply_one(
        event_type: type[Event], handler: PublishedHandler, entry: Document, sent_in: Context | None
    ) -> None:
        with _in_effect_trace(entry, sent_in) as span:
            try:
                event = event_type.model_validate(entry["data"])
                await handler(event, cloud_event_of(entry), entry.get("local") or {})
            except ConnectionFailure:
                raise
            except Exception as error:
                log.exception(
                    "the effect of published %s %s on this service failed", entry["type"], entry["id"]
                )
                metrics.PUBLISHED_EFFECT_FAILURES.labels(type=entry["type"]).inc()
                if span is not None:
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, str(error)))

    def _settled_before(self) -> datetime | None:
        """What a timed scan takes: events written a scan interval ago or earlier (by the writers'
        clock; everything without one)."""
        return None if self._clock is None else self._clock() - timedelta(seconds=self._scan_seconds)

    async def run(self) -> None:
        """Relay until cancelled; a failing pass is logged and retried after the poll interval."""
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while True:
            self._wake.clear()
            try:
                await self.run_hinted()
                if self._scan_due or loop.time() >= next_scan:
                    written_by = None if self._scan_due else self._settled_before()
                    self._scan_due = False
                    next_scan = loop.time() + self._scan_seconds
                    # Under load most pending documents are named already: the scan then stops
                    # after one pass instead of racing the hinted pass batch by batch.
                    while (await self._scan(written_by))[1]:
                        await self.run_hinted()
            except asyncio.CancelledError:
                raise
            except InvalidOperation:
                log.info("the store's client is closed: the outbox relay stops")
                return
            except Exception as error:
                if not kafka_client_log().failure(error, "outbox relay"):
                    log.exception("outbox relay pass failed; retrying")
                metrics.OUTBOX_FAILURES.inc()
                self._scan_due = True  # hints of a failed pass may be lost: look everywhere next
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
