"""The FastAPI app every service serves (one trace per request, whatever the connection carried
before) and its operations routes: /health, /ready, /metrics, the AsyncAPI document.

Request bodies are bounded by FastAPI's `max_body_size`: the service's limit (`HTTP_MAX_BODY_BYTES`)
on the app, a route's own where it needs another (`@router.post("/import", max_body_size=...)`).
Above it the answer is a 413 problem+json, like every other error.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import context as otel_context
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from servicekit.problems import body_too_large


class ServiceApp(FastAPI):
    """The FastAPI app of a service: each request starts from an empty trace context.

    Why: uvicorn pauses reading a connection while a large body waits to be consumed, and resumes
    from inside the request's `receive()`. asyncio then registers the socket's reader callback
    with a copy of the *current* context, the request's, in which the OpenTelemetry server span is
    active. Every later request on that keep-alive connection is created from that callback, so it
    inherits the old span, and the instrumentation, seeing a current span, makes its span a child of
    it: unrelated requests glued into one trace. Detaching here makes each request a root (or a
    child of its own `traceparent`) whatever context the server hands us.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        token = otel_context.attach(otel_context.Context())
        try:
            await super().__call__(scope, receive, _plain_413_as_problem(scope, send))
        finally:
            otel_context.detach(token)


def _plain_413_as_problem(scope: Scope, send: Send) -> Send:
    """Starlette's body limit answers a request whose Content-Length is above the limit with a
    plain-text 413, in place of whatever the app answered; send a problem+json 413 instead."""
    replaced = False

    async def send_problem(message: Message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] == 413:
            content_type = dict(message.get("headers") or []).get(b"content-type", b"")
            if not content_type.startswith(b"application/problem+json"):
                replaced = True
                response = body_too_large(Request(scope))
                await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
                await send({"type": "http.response.body", "body": response.body})
                return
        if not replaced:
            await send(message)

    return send_problem


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, bool]


class Liveness(BaseModel):
    status: Literal["ok"]


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="Liveness: the process answers")
    async def health() -> Liveness:
        return Liveness(status="ok")

    @router.get(
        "/ready",
        summary="Readiness: Kafka and MongoDB are reachable",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Kafka or MongoDB is unreachable"}},
    )
    async def ready(request: Request) -> JSONResponse:
        checks = await request.app.state.runtime.ready()
        ok = all(checks.values())
        readiness = Readiness(status="ready" if ok else "not ready", checks=checks)
        return JSONResponse(readiness.model_dump(), status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/docs/asyncapi.json", summary="This service's AsyncAPI 3.0 document")
    async def asyncapi_json(request: Request) -> dict[str, Any]:
        document: dict[str, Any] = request.app.state.runtime.asyncapi()
        return document

    return router
