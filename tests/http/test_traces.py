"""Each request gets its own trace, even on a keep-alive connection that just carried a large body
(uvicorn pauses reading such a connection and resumes from inside the request; before servicekit's
ServiceApp, every later request on it joined that request's trace)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from servicekit.telemetry import setup_telemetry

from tests.http.service_apps import SERVICES, create_app, operations, settings_for, uvicorn_server

LARGE_BODY = b'{"padding": "' + b"x" * 100_000 + b'"}'


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_telemetry("http-tests").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def _server_span(spans: list[ReadableSpan], trace_id: str) -> ReadableSpan:
    found = [
        s
        for s in spans
        if s.kind is SpanKind.SERVER
        and s.context is not None
        and format(s.context.trace_id, "032x") == trace_id
    ]
    assert len(found) == 1, f"expected one server span in trace {trace_id}, got {[s.name for s in found]}"
    return found[0]


@pytest.mark.parametrize("service", SERVICES)
def test_a_large_body_does_not_glue_the_next_requests_on_its_connection_into_its_trace(
    service: str, spans: InMemorySpanExporter
) -> None:
    app = create_app(service, settings_for(service))
    writes = [(p, m) for p, m, op in operations(app) if m in {"post", "put", "patch"} and "requestBody" in op]
    reads = [(p, m) for p, m, op in operations(app) if m == "get" and op.get("security")]
    assert writes, f"{service}: no route with a body"
    assert reads, f"{service}: no authenticated read"
    (write_path, write_method), (read_path, _) = writes[0], reads[0]
    write_path, read_path = (re.sub(r"\{[^}]+\}", "t-1", path) for path in (write_path, read_path))
    given_trace = uuid.uuid4().hex

    with uvicorn_server(app) as base_url, httpx.Client(base_url=base_url) as client:
        # No token: every answer is a 401 problem+json carrying its trace id, and the large body is
        # read (FastAPI reads it before it checks the token), which is what made uvicorn pause.
        large = client.request(
            write_method, write_path, content=LARGE_BODY, headers={"content-type": "application/json"}
        )
        after = [client.get(read_path) for _ in range(2)]
        continued = client.get(read_path, headers={"traceparent": f"00-{given_trace}-b7ad6b7169203331-01"})
        connections = {r.extensions["network_stream"].get_extra_info("server_addr") for r in [large, *after]}

    assert len(connections) == 1, "the requests must share one keep-alive connection"
    answers = [large, *after, continued]
    assert [r.status_code for r in answers] == [401] * 4, [r.text[:200] for r in answers]
    trace_ids = [r.json()["trace_id"] for r in answers]
    assert len(set(trace_ids[:3])) == 3, (
        f"{service}: requests after the large body share its trace: {trace_ids}"
    )
    assert trace_ids[3] == given_trace, "a request's own traceparent is still followed"

    finished = list(spans.get_finished_spans())
    for trace_id in trace_ids[:3]:
        assert _server_span(finished, trace_id).parent is None, "each request's server span is a root"
    assert _server_span(finished, given_trace).parent is not None
    ours = [s for s in finished if s.context is not None and format(s.context.trace_id, "032x") in trace_ids]
    inner = [s.name for s in ours if s.name.endswith((" http send", " http receive"))]
    assert not inner, f"{service}: a span per ASGI message: {inner[:4]}"
