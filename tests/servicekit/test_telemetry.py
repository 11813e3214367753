"""Telemetry set-up: which spans a process makes depends on whether anything reads them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.fast  # a short subprocess each: no server

# A fresh process per case: the tracer provider is global and set once per process.
PROBE = """
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry import trace
from servicekit.telemetry import setup_telemetry
setup_telemetry("probe")
span = trace.get_tracer("probe").start_span("probe")
print(PymongoInstrumentor().is_instrumented_by_opentelemetry, span.get_span_context().is_valid)
"""


def _probe(script: str, exporter: str) -> str:
    """What `script` prints in a fresh process with only `exporter` configured for spans."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OTEL_EXPORTER_OTLP") and name != "OTEL_TRACES_EXPORTER"
    }
    env["OTEL_TRACES_EXPORTER"] = exporter
    found = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return found.stdout


@pytest.mark.parametrize(
    ("exporter", "store_spans"),
    [("none", False), ("", False), ("console", True), ("zipkin", True), ("otlp", True)],
)
def test_store_command_spans_are_made_only_when_spans_are_exported(exporter: str, store_spans: bool) -> None:
    instrumented, valid_context = _probe(PROBE, exporter).split()
    assert instrumented == str(store_spans)
    # Either way the other spans exist with a valid context: trace ids still reach problem
    # documents and ride in Kafka headers from service to service.
    assert valid_context == "True"


# What a span carries when nothing exports: the ids a recorded one would have, nothing recorded.
CONTEXT_PROBE = """
from opentelemetry import propagate, trace
from servicekit.telemetry import setup_telemetry
setup_telemetry("probe")
tracer = trace.get_tracer("probe")
root = tracer.start_span("root")
incoming = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
                              "tracestate": "vendor=value"})
with tracer.start_as_current_span("process", context=incoming) as child:
    headers = {}
    propagate.inject(headers)
    grandchild = tracer.start_span("send")
print(root.is_recording(), child.is_recording())
print(format(root.get_span_context().trace_flags, "02x"))
print(headers["traceparent"], headers["tracestate"])
sent = grandchild.get_span_context()
print(format(sent.trace_id, "032x"), format(sent.span_id, "016x"))
print(format(child.get_span_context().span_id, "016x"))
"""


def test_without_an_exporter_spans_carry_the_context_a_recorded_span_would_and_record_nothing() -> None:
    recording, root_flags, injected, grandchild, child_span = _probe(CONTEXT_PROBE, "none").splitlines()
    assert recording == "False False"
    # A new trace is sampled (a service downstream that exports records it) with a random id.
    assert root_flags == "03"
    # A record's span continues the incoming trace with its flags (here: not sampled) and state,
    # under a span id of its own, and passes that on.
    traceparent, tracestate = injected.split()
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, trace_id, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "00")
    assert span_id == child_span
    assert span_id != "b7ad6b7169203331"
    assert tracestate == "vendor=value"
    grandchild_trace, grandchild_span = grandchild.split()
    assert grandchild_trace == trace_id
    assert grandchild_span not in (span_id, "0" * 16)


# The outbox relay's headers for an event written under a request's span.
RELAY_PROBE = """
import asyncio, types
from datetime import UTC, datetime
from opentelemetry import trace
from servicekit.telemetry import setup_telemetry
setup_telemetry("probe")
from servicekit.outbox import OutboxRelay, trace_carrier

with trace.get_tracer("probe").start_as_current_span("the request"):
    carrier = trace_carrier()
entry = {"id": "e-1", "type": "probe.Event.v1", "source": "/probe", "subject": "s", "key": "s",
         "time": datetime.now(UTC), "topic": "probe.v1", "data": {}, "trace": carrier}

class Collection:
    name = "probes"
    async def bulk_write(self, operations, ordered):
        return types.SimpleNamespace(matched_count=len(operations))

sent = []
async def send_all(records):
    sent.extend({name: value.decode() for name, value in record.headers} for record in records)

relay = OutboxRelay([Collection()], send_all)
untraced = {**entry, "id": "e-2", "trace": {}}  # written outside any trace
relay.wake("probes", "doc-1", entries=[entry, untraced])
asyncio.run(relay.run_hinted())
print("RESULT", carrier["traceparent"], sent[0]["traceparent"], sent[1].get("traceparent"))
"""


@pytest.mark.parametrize("exporter", ["none", "console"])
def test_a_relayed_record_continues_the_writers_trace_under_a_producer_span_only_when_spans_are_read(
    exporter: str,
) -> None:
    [line] = [line for line in _probe(RELAY_PROBE, exporter).splitlines() if line.startswith("RESULT ")]
    written, relayed, untraced = line.split()[1:]
    # An event written outside any trace starts one (as a recorded producer span would).
    assert untraced != "None"
    assert untraced.split("-")[1] not in (written.split("-")[1], "0" * 32)
    _, written_trace, written_span, written_flags = written.split("-")
    _, relayed_trace, relayed_span, relayed_flags = relayed.split("-")
    assert (relayed_trace, relayed_flags) == (written_trace, written_flags)
    if exporter == "none":
        # Nothing reads spans: the record names the writer's span (no producer span is made).
        assert relayed_span == written_span
    else:
        # The record names the relay's producer span, a child of the writer's.
        assert relayed_span not in (written_span, "0" * 16)


# The trace context a consumer's handler runs in, for a record that carries one.
CONSUMER_PROBE = """
import asyncio
from opentelemetry import trace
from mentorship_schemas import MentorAvailable
from servicekit.consumer import EventConsumer
from servicekit.telemetry import setup_telemetry
setup_telemetry("probe")

class Ledger:
    def find(self, query, projection):
        async def nothing():
            return
            yield
        return nothing()
    async def insert_many(self, entries, ordered):
        pass

async def nowhere(*args, **kwargs):
    raise AssertionError("dead-lettered")

seen = []
consumer = EventConsumer(group_id="probe", ledger=Ledger(), dead_letter=nowhere)

@consumer.on(MentorAvailable)
async def handle(event, envelope):
    seen.append(trace.get_current_span().get_span_context())

event = MentorAvailable(org_id="acme", version=1, person_id="ada", capacity=2, active_mentees=0)
headers = {"ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "/probe", "ce_type": event.ce_type(),
           "ce_time": "2026-03-01T10:00:00Z", "ce_subject": "ada", "content-type": "application/json",
           "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
outcome = asyncio.run(consumer.handle_record(
    topic=event.topic(), value=event.model_dump_json().encode(), key=b"ada", headers=headers))
untraced = {k: v for k, v in headers.items() if k != "traceparent"} | {"ce_id": "e-2"}
asyncio.run(consumer.handle_record(
    topic=event.topic(), value=event.model_dump_json().encode(), key=b"ada", headers=untraced))
print("RESULT", outcome, format(seen[0].trace_id, "032x"), format(seen[0].span_id, "016x"), seen[1].is_valid)
"""


@pytest.mark.parametrize("exporter", ["none", "console"])
def test_a_handler_runs_in_the_records_trace_in_a_consumer_span_only_when_spans_are_read(
    exporter: str,
) -> None:
    [line] = [line for line in _probe(CONSUMER_PROBE, exporter).splitlines() if line.startswith("RESULT ")]
    outcome, trace_id, span_id, untraced_valid = line.split()[1:]
    assert outcome == "processed"
    assert untraced_valid == "True"  # a record without a trace starts one
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    if exporter == "none":
        assert span_id == "b7ad6b7169203331"  # the producer's: no span of its own
    else:
        assert span_id not in ("b7ad6b7169203331", "0" * 16)  # its consumer span, a child


# Several changes in one record's context share one carrier, and each gets its own copy.
CARRIER_PROBE = """
from opentelemetry import trace
from servicekit.telemetry import setup_telemetry
setup_telemetry("probe")
from servicekit.outbox import trace_carrier

tracer = trace.get_tracer("probe")
with tracer.start_as_current_span("first record"):
    first, again = trace_carrier(), trace_carrier()
    first["mutated"] = "by its holder"
    after = trace_carrier()
with tracer.start_as_current_span("second record"):
    second = trace_carrier()
outside = trace_carrier()
print("RESULT", first["traceparent"] == again["traceparent"], "mutated" in after,
      second.get("traceparent") != first["traceparent"], outside.get("traceparent"))
"""


def test_the_trace_carrier_follows_the_current_context_and_hands_out_copies() -> None:
    [line] = [line for line in _probe(CARRIER_PROBE, "console").splitlines() if line.startswith("RESULT ")]
    assert line.split()[1:] == ["True", "False", "True", "None"]
