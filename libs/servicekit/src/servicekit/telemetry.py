"""OpenTelemetry set-up from the standard `OTEL_*` variables.

Spans come from FastAPI (requests), PyMongo (commands; only when spans are exported), FastStream's
Kafka middleware (process, and the rare direct publish such as a dead letter), the outbox relay
(one producer span per event, with W3C trace context in the record headers) and sweeps.
Export is OTLP over HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific variable) is
set, or `OTEL_TRACES_EXPORTER=otlp` explicitly; `zipkin` sends Zipkin v2 JSON to
`OTEL_EXPORTER_ZIPKIN_ENDPOINT` (Zipkin accepts no OTLP: this is how `make run` and compose reach
their trace UI); `console` prints spans; otherwise nothing is exported.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

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
    provider = TracerProvider(resource=resource)
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
