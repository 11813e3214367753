"""The fleet that starts services as processes (`make run`, the end-to-end tests, benchmarks): a
service whose port another process took before it could bind it is not taken for ready because
that other process answers on the port, and gets another port where ports are drawn."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from localstack import free_port
from service_fleet import PortTaken, ServiceFleet

pytestmark = pytest.mark.fast

# A stand-in for a service: answers /ready as ours do, or, when its port is taken, says so the way
# uvicorn does and exits a moment later (uvicorn shuts the application down first).
_SERVICE = """
import http.server, json, os, sys, time

class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ready", "checks": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

try:
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ["HTTP_PORT"])), Ready)
except OSError as error:
    print(f"ERROR:    {error}: address already in use", flush=True)
    time.sleep(1)
    sys.exit(1)
server.serve_forever()
"""


@pytest.fixture
def impostor() -> Iterator[int]:
    """Another process's server on a port, answering /ready as a service would."""

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ready"}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", free_port()), Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _fleet(tmp_path: Path, port: int, **options: object) -> ServiceFleet:
    package = tmp_path / "standin"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(_SERVICE)
    return ServiceFleet(
        env={"PYTHONPATH": str(tmp_path)},
        log_dir=tmp_path / "logs",
        ports={"standin": port},
        python=sys.executable,
        **options,  # type: ignore[arg-type]
    )


def test_a_service_whose_port_was_taken_is_not_ready_because_another_answers(
    tmp_path: Path, impostor: int
) -> None:
    fleet = _fleet(tmp_path, impostor)
    try:
        with pytest.raises(PortTaken, match="address already in use"):
            fleet.start(timeout=20)
    finally:
        fleet.stop()


def test_a_service_whose_drawn_port_was_taken_starts_on_another(tmp_path: Path, impostor: int) -> None:
    fleet = _fleet(tmp_path, impostor, new_port=free_port)
    try:
        fleet.start(timeout=20)
        service = fleet.services["standin"]
        assert service.port != impostor
        assert service.process is not None
        assert service.process.poll() is None
    finally:
        fleet.stop()
