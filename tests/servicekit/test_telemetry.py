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


@pytest.mark.parametrize(
    ("exporter", "store_spans"),
    [("none", False), ("", False), ("console", True), ("zipkin", True), ("otlp", True)],
)
def test_store_command_spans_are_made_only_when_spans_are_exported(exporter: str, store_spans: bool) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OTEL_EXPORTER_OTLP") and name != "OTEL_TRACES_EXPORTER"
    }
    env["OTEL_TRACES_EXPORTER"] = exporter
    found = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    instrumented, valid_context = found.stdout.split()
    assert instrumented == str(store_spans)
    # Either way the other spans exist with a valid context: trace ids still reach problem
    # documents and ride in Kafka headers from service to service.
    assert valid_context == "True"
