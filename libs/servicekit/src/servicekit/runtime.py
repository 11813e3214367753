"""A service's runtime: the shared plumbing wired once (Mongo, broker, consumer, outbox relay,
sweeps, telemetry) and the FastAPI app whose plain lifespan starts and stops it.

A service builds a `ServiceRuntime`, registers its collections, handlers and sweeps, and calls
`create_app` with its routers. Building is free of I/O, so docs generation can build every service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from mentorship_schemas import ALL_EVENTS, Event, Stream
from mentorship_schemas.topics import all_topic_names
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from servicekit import metrics
from servicekit.aggregates import AggregateRoot, AggregateStore
from servicekit.asyncapi import asyncapi_document
from servicekit.auth import Authenticator
from servicekit.clock import SHARED_CLOCK_COLLECTION, Clock, SharedClock, SystemClock
from servicekit.consumer import EventConsumer, RetryPolicy, ensure_ledger_index
from servicekit.dev_clock import shared_clock_router
from servicekit.docs import install_docs
from servicekit.garbage import collect_on_a_timer
from servicekit.http import ServiceApp, operations_router
from servicekit.kafka import (
    GRACEFUL_STOP_SECONDS,
    CloudEventPublisher,
    EventProducer,
    create_broker,
    ensure_topics,
)
from servicekit.mongo import create_mongo_client, ping
from servicekit.openapi import install_problem_documentation
from servicekit.outage import kafka_client_log
from servicekit.outbox import OutboxRelay, ensure_outbox_index, outbox_entry
from servicekit.problems import install_problem_handlers
from servicekit.settings import ServiceSettings
from servicekit.telemetry import setup_telemetry

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
Document = dict[str, Any]
Sweep = Callable[[datetime], Awaitable[int]]
A = TypeVar("A", bound=AggregateRoot)


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        stream: Stream,
        clock: Clock | None = None,
    ) -> None:
        setup_telemetry(settings.service_name)  # before the broker: its middleware reads the provider
        self.settings = settings
        self.stream = stream
        # A service publishes exactly its stream's event types: the registry says which.
        self.publishes: list[type[Event]] = [event for event in ALL_EVENTS if event.stream is stream]
        self.source = f"/mentorship/{settings.service_name}"
        self.mongo = create_mongo_client(
            settings.mongodb_url, app_name=settings.service_name, timeout_ms=settings.mongodb_timeout_ms
        )
        self.db: AsyncDatabase[Document] = self.mongo[settings.database_name]
        self.clock: Clock = clock or self._configured_clock()
        self.broker = create_broker(settings.kafka_bootstrap_servers, client_id=settings.service_name)
        self.publisher = CloudEventPublisher(self.broker)
        self.consumer = EventConsumer(
            group_id=settings.consumer_group,
            ledger=self.db["processed_events"],
            dead_letter=self.publisher.dead_letter,
            retry=RetryPolicy(
                settings.consumer_max_attempts,
                settings.consumer_backoff_seconds,
                settings.consumer_backoff_max_seconds,
            ),
            start_from=settings.consumer_start_from,
            batch_size=settings.consumer_batch_size,
            concurrency=settings.consumer_concurrency,
            streams=settings.consumer_streams,
            lanes=settings.consumer_lanes,
            fetch_wait_ms=settings.consumer_fetch_wait_ms,
        )
        self._outbox_collections: list[AsyncCollection[Document]] = []
        self.events_out = EventProducer(
            settings.kafka_bootstrap_servers,
            client_id=settings.service_name,
            linger_ms=settings.producer_linger_ms,
            batch_bytes=settings.producer_batch_bytes,
        )
        self.relay = OutboxRelay(
            self._outbox_collections,
            self.events_out.send_all,
            poll_seconds=settings.outbox_poll_seconds,
            batch_size=settings.outbox_batch_size,
            scan_seconds=settings.outbox_scan_seconds,
            clock=self.now,
        )
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._stopping: list[Callable[[float], Awaitable[None]]] = []
        self._sweeps: list[tuple[str, float, Sweep]] = []
        self._swept_once: list[asyncio.Event] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.authenticator = Authenticator(settings)

    def _configured_clock(self) -> Clock:
        if self.settings.clock == "shared":  # the settings refuse it outside development
            platform = self.mongo[self.settings.platform_database_name]
            return SharedClock(platform[SHARED_CLOCK_COLLECTION], self.settings.clock_refresh_seconds)
        return SystemClock()

    # ------------------------------------------------------------------ registration

    def outbox_collection(self, name: str) -> AsyncCollection[Document]:
        """A collection whose documents carry an outbox the relay drains."""
        collection = self.db[name]
        self._outbox_collections.append(collection)
        return collection

    def on_startup(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run at start, before consuming (index creation, for example)."""
        self._startup.append(hook)

    def on_stop(self, hook: Callable[[float], Awaitable[None]]) -> None:
        """Run at stop, once no record is handled any more and before the store's client closes
        (work a service runs behind its handlers finishing, bounded by the given seconds)."""
        self._stopping.append(hook)

    def sweep(self, name: str, every_seconds: float, run: Sweep) -> None:
        """A time-driven sweep: `run(now)` is called every `every_seconds` with the clock's time."""
        self._sweeps.append((name, every_seconds, run))

    def entry(self, event: Event, *, event_id: str | None = None) -> Document:
        """The outbox entry for `event`, stamped with this service as source and the clock's time."""
        self.check_publishes(event)
        return outbox_entry(event, source=self.source, time=self.clock.now(), event_id=event_id)

    def check_publishes(self, event: Event) -> None:
        """Refuse an event of another service's stream: each stream has one publisher."""
        if type(event) not in self.publishes:
            raise TypeError(f"{self.settings.service_name} does not publish {event.ce_type()}")

    def now(self) -> datetime:
        return self.clock.now()

    def events_written(
        self, collection: str | None = None, aggregate_id: Any = None, entries: list[Document] | None = None
    ) -> None:
        """Tell the relay a write added events, so it publishes now instead of at its next scan.
        Naming the document lets the relay read just it; without, the relay scans everything.
        `entries`: the events the write added, which the relay need not read (`OutboxRelay.wake`)."""
        self.relay.wake(collection, aggregate_id, entries)

    def aggregates(self, name: str, model: type[A]) -> AggregateStore[A]:
        """The store of one aggregate type, in a collection whose outbox the relay drains."""
        return AggregateStore(self.outbox_collection(name), model, self)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if isinstance(self.clock, SharedClock):  # the platform's time before any sweep reads it
            await self.clock.refresh()
            self._tasks.append(asyncio.create_task(self.clock.run(), name="shared-clock"))
        await ensure_topics(self.settings.kafka_bootstrap_servers, all_topic_names())
        await ensure_ledger_index(self.db["processed_events"])
        for collection in self._outbox_collections:
            await ensure_outbox_index(collection)
        for hook in self._startup:
            await hook()
        kafka_client_log().starting()
        self.consumer.bind(self.broker)
        await self.broker.start()
        await self.events_out.start()
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        self._tasks.append(asyncio.create_task(self._watch_kafka(), name="kafka-watch"))
        if self.settings.gc_interval_seconds:
            every = self.settings.gc_interval_seconds
            self._tasks.append(asyncio.create_task(collect_on_a_timer(every), name="garbage-collector"))
        self._swept_once = [asyncio.Event() for _ in self._sweeps]
        for (name, every, run), swept in zip(self._sweeps, self._swept_once, strict=True):
            self._tasks.append(asyncio.create_task(self._run_sweep(name, every, run, swept), name=name))
        log.info("%s started", self.settings.service_name)

    async def stop(self, timeout: float = 15.0) -> None:
        """Stop sweeps, relay, consumers and clients; each step is bounded so a stuck peer can
        never keep the process from shutting down (whatever was not committed is redelivered)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=timeout)
            if stuck:
                log.warning("%d background task(s) did not stop in %ss", len(stuck), timeout)
        self._tasks.clear()
        # Kafka first waits for running handlers (GRACEFUL_STOP_SECONDS), then leaves the consumer
        # groups: cutting that short would leave this member in its group until the session times
        # out, and a replacement would get no partitions meanwhile.
        steps: list[tuple[str, Callable[[], Awaitable[Any]], float]] = [
            ("kafka", self.broker.stop, GRACEFUL_STOP_SECONDS + timeout),
        ]
        steps += [
            ("work behind the handlers", partial(hook, timeout), timeout + 1) for hook in self._stopping
        ]
        steps += [
            ("the outbox's producer", self.events_out.stop, timeout),
            ("mongodb", self.mongo.close, timeout),
        ]
        for name, close, bound in steps:
            try:
                await asyncio.wait_for(close(), timeout=bound)
            except TimeoutError:
                log.warning("closing %s took longer than %ss; leaving it", name, bound)

    async def _watch_kafka(self, every: float = 2.0) -> None:
        """Tell the outage log whether Kafka answers, so an outage ends with one line."""
        outage = kafka_client_log()
        while True:
            answered = False
            with contextlib.suppress(Exception):
                answered = bool(await self.broker.ping(timeout=every))
            if answered:
                outage.reachable()
            else:
                outage.unreachable("no answer to a ping")
            await asyncio.sleep(every)

    async def first_sweeps(self) -> None:
        """Wait until every sweep has run its round at start: writes made after this (a test
        writing straight to the store) are seen by the sweeps' next rounds only, never raced by
        the first."""
        await asyncio.gather(*(swept.wait() for swept in self._swept_once))

    async def _run_sweep(self, name: str, every: float, run: Sweep, swept: asyncio.Event) -> None:
        while True:
            try:
                with tracer.start_as_current_span(f"sweep {name}") as span:
                    emitted = await run(self.clock.now())
                    span.set_attribute("mentorship.sweep.emitted", emitted)
                if emitted:
                    metrics.SWEEP_EMITTED.labels(sweep=name).inc(emitted)
                    self.events_written()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep %s failed; retrying next round", name)
            swept.set()
            await asyncio.sleep(every)

    async def ready(self) -> dict[str, bool]:
        kafka_ok = False
        with contextlib.suppress(Exception):
            kafka_ok = bool(await self.broker.ping(timeout=2.0))
        return {"kafka": kafka_ok, "mongodb": await ping(self.mongo)}

    # ------------------------------------------------------------------ HTTP

    def asyncapi(self) -> dict[str, Any]:
        return asyncapi_document(
            self.settings.service_name,
            publishes=self.publishes,
            consumes=self.consumer.consumed_events,
            group_id=self.settings.consumer_group,
        )

    def create_app(self, *, title: str, description: str, routers: Sequence[APIRouter]) -> FastAPI:
        runtime = self

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()

        app = ServiceApp(
            title=title,
            description=description,
            version="1.0.0",
            lifespan=lifespan,
            docs_url=None,  # served offline by servicekit.docs
            redoc_url=None,
            max_body_size=self.settings.http_max_body_bytes,
        )
        app.state.runtime = self
        app.state.authenticator = self.authenticator
        install_problem_handlers(app, retry_after_seconds=self.settings.http_retry_after_seconds)
        app.include_router(operations_router())
        install_docs(app, viewer_dir=self.settings.docs_asyncapi_viewer_dir)
        if isinstance(self.clock, SharedClock):
            app.include_router(shared_clock_router(self.clock))
        for router in routers:
            app.include_router(router)
        install_problem_documentation(app, max_body_bytes=self.settings.http_max_body_bytes)
        # One server span per request; no inner span per ASGI message sent or received (two to
        # three more per request, which say nothing the server span does not).
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=trace.get_tracer_provider(),
            excluded_urls="health,ready,metrics",
            exclude_spans=["receive", "send"],
        )
        return app
