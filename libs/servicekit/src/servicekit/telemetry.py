"""OpenTelemetry set-up from the standard `OTEL_*` variables.

Spans come from FastAPI (requests), PyMongo (commands; only when spans are exported), FastStream's
Kafka middleware (process, and the rare direct publish such as a dead letter), the outbox relay
(one producer span per event, with W3C trace context in the record headers; without an exporter
the record carries the writer's context instead, see `spans_recorded`) and sweeps.
Export is OTLP over HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific variable) is
set, or `OTEL_TRACES_EXPORTER=otlp` explicitly; `zipkin` sends Zipkin v2 JSON to
`OTEL_EXPORTER_ZIPKIN_ENDPOINT` (Zipkin accepts no OTLP: this is how `make run` and compose reach
their trace UI); `console` prints spans; otherwise nothing is exported.

When nothing is exported, spans are still made with the ids and flags a recorded span would have
(a root gets a new trace id and is sampled; a child keeps its parent's trace, flags and state), so
trace ids still reach problem documents and ride in Kafka headers to services that do export; but
they record nothing (no attributes, events or timings that nobody would read). A recorded span cost
a consumer about 11 microseconds more, and it makes two to three per record: about a tenth of
notifications' CPU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
from opentelemetry.util.types import Attributes

_configured: TracerProvider | None = None


def _exporter() -> SpanExporter | None:
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint_set = bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    if choice == "none" or (not choice and not endpoint_set):
        return None
    if choice == "console":
        return ConsoleSpanExporter()
    if choice == "zipkin":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        return ZipkinExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class _Provider(TracerProvider):
    """The SDK's provider, whose tracers record only once a span processor is registered."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.read = False  # True once a span processor is registered: then spans are recorded

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.read = True

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        tracer = super().get_tracer(*args, **kwargs)
        return _Tracer(tracer, self) if isinstance(tracer, SdkTracer) else tracer


class _Tracer(trace.Tracer):
    """The SDK's tracer while anything reads spans; until then, spans with the context the SDK
    would give them (its ids, the parent's trace, flags and state) that record nothing."""

    def __init__(self, recording: SdkTracer, provider: _Provider) -> None:
        self._recording = recording
        self._provider = provider

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        if self._provider.read:
            return self._recording.start_span(
                name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
            )
        ids = self._recording.id_generator
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            return NonRecordingSpan(
                SpanContext(
                    parent.trace_id,
                    ids.generate_span_id(),
                    is_remote=False,
                    trace_flags=parent.trace_flags,
                    trace_state=parent.trace_state,
                )
            )
        flags = TraceFlags.SAMPLED | (TraceFlags.RANDOM_TRACE_ID if ids.is_trace_id_random() else 0)
        return NonRecordingSpan(
            SpanContext(
                ids.generate_trace_id(),
                ids.generate_span_id(),
                is_remote=False,
                trace_flags=TraceFlags(flags),
            )
        )

    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> AbstractContextManager[Span]:
        span = self.start_span(
            name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
        )
        # `use_span` is a context manager that also decorates functions, sync or async, as the
        # SDK's `start_as_current_span` is.
        return trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        )


def spans_recorded() -> bool:
    """False when this process's provider is ours and nothing reads its spans (no exporter, no
    processor): code that makes a span only to put its context in a record may then pass the
    context it has along instead (`OutboxRelay`)."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, _Provider) or provider.read


def setup_telemetry(service_name: str) -> TracerProvider:
    """Install the global tracer provider once per process; later calls return it."""
    global _configured
    if _configured is not None:
        return _configured
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name,
            "service.namespace": "mentorship",
        }
    )
    provider = _Provider(resource=resource)
    exporter = _exporter()
    trace.set_tracer_provider(provider)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
        # A span per store command, the most numerous of all, made only when someone reads them:
        # without an exporter they cost a busy consumer several per cent of its CPU for nothing
        # (the others stay: they carry the trace context from one service to the next).
        PymongoInstrumentor().instrument(tracer_provider=provider)
    _configured = provider
    return provider


def shutdown_telemetry() -> None:
    if _configured is not None:
        _configured.shutdown()
