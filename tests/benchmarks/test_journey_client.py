"""The journey benchmark's own HTTP/1.1 client (h11 over asyncio streams) against a real uvicorn
server: it sends the JSON and the headers, reads each answer whole, keeps one connection for many
requests, and opens a new one when the server closed the last."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.http.service_apps import uvicorn_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from throughput.journey import _Connection


def _echo_app() -> FastAPI:
    app = FastAPI()
    app.state.peers = []

    @app.post("/profiles", status_code=201)
    async def echo(request: Request, response: Response) -> dict[str, Any]:
        assert request.client is not None
        app.state.peers.append(request.client.port)
        body = await request.json()
        if body.get("close"):
            response.headers["connection"] = "close"
        return {"got": body, "authorization": request.headers.get("authorization"), "big": "x" * 100_000}

    return app


async def test_answers_come_whole_on_one_kept_connection_and_a_closed_one_is_reopened() -> None:
    app = _echo_app()
    with uvicorn_server(app) as url:
        http = _Connection(url)
        try:
            answers = [
                await http.post_json("/profiles", {"n": n, "close": n == 1}, {"authorization": f"Bearer {n}"})
                for n in range(4)
            ]
        finally:
            await http.close()

    assert [status for status, _ in answers] == [201] * 4
    bodies = [json.loads(body) for _, body in answers]
    assert [b["got"]["n"] for b in bodies] == [0, 1, 2, 3]
    assert [b["authorization"] for b in bodies] == [f"Bearer {n}" for n in range(4)]
    assert all(len(b["big"]) == 100_000 for b in bodies)  # read across many socket reads
    first, second, third, fourth = app.state.peers
    assert first == second, "one connection for requests in turn"
    assert third == fourth != second, "a new connection after the server closed the last"
