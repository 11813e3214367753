"""The idempotent event consumer: one subscription per topic, dispatch on `ce_type`, a ledger of
processed event ids, in-place retries with backoff, and a dead-letter topic for what cannot succeed.

Offsets are committed only after the effect is stored (FastStream acks after the handler returns;
an exception escaping it seeks back so the record is read again). A record that can never succeed
(bad JSON, a schema violation, a missing CloudEvents header) goes to `<topic>.dlq` at once; one that
keeps failing goes there after `max_attempts`. Either way the consumer moves on.

Handlers must themselves be idempotent (conditional updates, ids derived from the cause): the
ledger skips repeats cheaply, but a crash between the effect and the ledger write replays the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from mentorship_schemas import CloudEvent, Event, dlq_topic
from pydantic import ValidationError
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from servicekit import metrics

log = logging.getLogger(__name__)

Handler = Callable[[Any, CloudEvent], Awaitable[None]]


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


async def _raw_body(message: Any, original: Any = None) -> Any:
    # We parse and validate ourselves so that bad JSON reaches our DLQ logic, not a decoder error.
    return message.body


class EventConsumer:
    """Routes one service's subscribed event types to its handlers."""

    def __init__(
        self,
        *,
        group_id: str,
        ledger: AsyncCollection[dict[str, Any]],
        dead_letter: DeadLetterPublisher,
        retry: RetryPolicy | None = None,
        start_from: Literal["earliest", "latest"] = "earliest",
    ) -> None:
        self.group_id = group_id
        self._start_from = start_from
        self._ledger = ledger
        self._dead_letter = dead_letter
        self._retry = retry or RetryPolicy()
        self._routes: dict[str, dict[str, _Route]] = {}

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
        """Subscribe to every topic with a registered handler."""
        for topic in self._routes:
            subscriber = broker.subscriber(
                topic,
                group_id=self.group_id,
                auto_offset_reset=self._start_from,
                ack_policy=AckPolicy.NACK_ON_ERROR,
                decoder=_raw_body,
                title=f"{self.group_id}:{topic}",
            )
            subscriber(self._make_entry(topic))

    def _make_entry(self, topic: str) -> Callable[..., Awaitable[None]]:
        async def on_record(body: bytes, msg: KafkaMessage) -> None:
            raw = msg.raw_message
            await self.handle_record(
                topic=topic,
                value=body,
                key=getattr(raw, "key", None),
                headers=dict(msg.headers),
                partition=getattr(raw, "partition", -1),
                offset=getattr(raw, "offset", -1),
            )

        on_record.__name__ = f"consume_{topic.replace('.', '_')}"
        return on_record

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
        ce_type = headers.get("ce_type", "")
        route = self._routes.get(topic, {}).get(ce_type)
        if ce_type and route is None:
            # Another team's or a newer type on a shared topic: not ours to handle.
            metrics.EVENTS_CONSUMED.labels(type=ce_type, outcome="ignored").inc()
            return "ignored"
        try:
            envelope, event = self._decode(route, value, headers)
        except (ValueError, ValidationError) as error:
            await self._to_dlq(topic, value, key, headers, partition, offset, error, attempts=1)
            return "dead_lettered"
        assert route is not None

        if await self._ledger.find_one({"_id": envelope.id}, {"_id": 1}) is not None:
            metrics.EVENTS_CONSUMED.labels(type=ce_type, outcome="duplicate").inc()
            return "duplicate"

        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                await route.handler(event, envelope)
                break
            except PermanentError as error:
                await self._to_dlq(topic, value, key, headers, partition, offset, error, attempt)
                return "dead_lettered"
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if attempt >= self._retry.max_attempts:
                    log.exception("giving up on %s %s after %d attempts", ce_type, envelope.id, attempt)
                    await self._to_dlq(topic, value, key, headers, partition, offset, error, attempt)
                    return "dead_lettered"
                metrics.CONSUMER_RETRIES.labels(type=ce_type).inc()
                log.warning("retrying %s %s (attempt %d): %r", ce_type, envelope.id, attempt, error)
                await asyncio.sleep(self._retry.delay(attempt))
            finally:
                metrics.HANDLER_SECONDS.labels(type=ce_type).observe(time.perf_counter() - started)

        # A replica may have processed it too; the handler's own idempotency made that harmless.
        with contextlib.suppress(DuplicateKeyError):
            await self._ledger.insert_one(
                {"_id": envelope.id, "type": ce_type, "processed_at": datetime.now(UTC)}
            )
        metrics.EVENTS_CONSUMED.labels(type=ce_type, outcome="processed").inc()
        return "processed"

    @staticmethod
    def _decode(route: _Route | None, value: bytes, headers: dict[str, str]) -> tuple[CloudEvent, Event]:
        if route is None:
            raise ValueError("missing ce_type header")
        try:
            data = json.loads(value)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
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

    async def _to_dlq(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: dict[str, str],
        partition: int,
        offset: int,
        error: BaseException,
        attempts: int,
    ) -> None:
        reason = str(error) or type(error).__name__
        dead_headers = {
            **headers,
            "dlq_error": reason[:4000],
            "dlq_error_type": type(error).__name__,
            "dlq_consumer_group": self.group_id,
            "dlq_original_topic": topic,
            "dlq_original_partition": str(partition),
            "dlq_original_offset": str(offset),
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        await self._dead_letter(dlq_topic(topic), value, key, dead_headers)
        log.error("dead-lettered record %s[%d]@%d: %s", topic, partition, offset, reason)
        metrics.EVENTS_CONSUMED.labels(type=headers.get("ce_type", "unknown"), outcome="dead_lettered").inc()


async def ensure_ledger_index(ledger: AsyncCollection[dict[str, Any]]) -> None:
    """The ledger's `_id` is the event id, unique by construction; index processed_at for pruning."""
    await ledger.create_index("processed_at", name="processed_at")
