"""A bounded schemathesis run of each service's app in-process (ASGI), with its real store and
broker: 0 server errors, and every answer documented (status, content type, schema, headers).

Bounded and repeatable: a fixed number of examples per operation and generation mode, generated
deterministically (hypothesis `derandomize`), no example database. A failure lists each operation
and what was wrong with its answer; failures in a service's own routes are fixed in that service.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra, drop_database
from tests.http.service_apps import SERVICES, bearer, create_app, settings_for

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
EXAMPLES_PER_MODE = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
async def running_app(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[FastAPI]:
    service: str = request.param
    settings = settings_for(
        service,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        consumer_group_id=f"test-fuzz-{uuid.uuid4().hex[:8]}",
        consumer_start_from="latest",
    )
    app = create_app(service, settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.start()
    try:
        yield app
    finally:
        await runtime.stop()
        await drop_database(infra, runtime.db.name)


def _cases(app: FastAPI) -> list[schemathesis.Case]:
    """A fixed, deterministic set of generated requests for every operation, valid and invalid."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    cases: list[schemathesis.Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            def collect(case: schemathesis.Case) -> None:
                cases.append(case)

            try:
                collect()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"
                # Nothing to make invalid (no parameters, no body): the valid requests cover it.
    return cases


def _request_of(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://svc")
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "params": kwargs.get("params") or None,
        "headers": {**(kwargs.get("headers") or {}), **headers},
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), bytes | str):
        request["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        request["data"] = kwargs["data"]
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    return request


@pytest.mark.parametrize("running_app", SERVICES, indirect=True)
async def test_fuzzed_requests_get_no_server_error_and_only_documented_answers(running_app: FastAPI) -> None:
    # Generated off the event loop: the service's consumers must keep their heartbeats meanwhile.
    cases = await asyncio.to_thread(_cases, running_app)
    token = bearer("fuzz-admin", f"org-{uuid.uuid4().hex[:8]}")
    failures: dict[str, str] = {}
    transport = httpx.ASGITransport(app=running_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for case in cases:
            response = await client.request(**_request_of(case, token))
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as failure:  # every failed check, in one error
                where = f"{case.method} {case.path} -> {response.status_code}"
                failures.setdefault(where, f"{type(failure).__name__}: {str(failure)[:600]}")
    assert len(cases) >= 2 * EXAMPLES_PER_MODE
    report = "\n".join(f"{where}\n    {why}" for where, why in sorted(failures.items()))
    assert not failures, (
        f"{len(failures)} undocumented or failed answer(s) out of {len(cases)} requests:\n{report}"
    )
