"""The local trace UI: Zipkin's server jar (Maven Central) as a process, in-memory storage.

Zipkin accepts no OTLP, so the services export Zipkin v2 JSON to it (`OTEL_TRACES_EXPORTER=zipkin`,
`OTEL_EXPORTER_ZIPKIN_ENDPOINT`, see servicekit.telemetry). Its UI is at `/zipkin/`, its query API
at `/api/v2/` (traces, services, spans), which the trace test reads.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from localstack.install import QUICK_JIT, require_java
from localstack.process import ManagedServer, ensure_ports_free, free_port
from localstack.tools import ZIPKIN_VERSION, install_zipkin

_ZIPKIN_HEAP = ["-Xms64m", "-Xmx384m"]


class ZipkinServer(ManagedServer):
    """Zipkin on 127.0.0.1 (mem storage: traces live as long as the process)."""

    name = "zipkin"
    cmd_marker = f"zipkin-server-{ZIPKIN_VERSION}"

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        super().__init__(state_dir)
        self.port: int = port or self._recorded().get("port") or free_port()
        self.log = self.dir / "zipkin.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"{self.url}/zipkin/"

    @property
    def spans_endpoint(self) -> str:
        """What OTEL_EXPORTER_ZIPKIN_ENDPOINT should be for the services to report here."""
        return f"{self.url}/api/v2/spans"

    def start(self, timeout: float = 90) -> None:
        if self.is_running():
            self._wait_ready(timeout, self._protocol_ok, [self.log])
            return
        java = require_java()
        jar = install_zipkin()
        ensure_ports_free("Zipkin", {"port": self.port})
        cmd = [
            java,
            *_ZIPKIN_HEAP,
            "-XX:+UseSerialGC",
            *QUICK_JIT,
            "-Djava.awt.headless=true",
            # The state dir in the command line: a stale pid file never adopts another's server.
            f"-Dmentorship.state={self.dir}",
            "-jar",
            str(jar),
            f"--armeria.ports[0].port={self.port}",
            "--armeria.ports[0].address=127.0.0.1",
            "--armeria.ports[0].protocols=http",
            "--logging.level.root=WARN",
            "--logging.level.zipkin2.server=INFO",
        ]
        self._spawn(cmd, self.log, {"port": self.port})
        self._wait_ready(timeout, self._protocol_ok, [self.log])

    def _protocol_ok(self) -> bool:
        return zipkin_healthy(self.url)


def zipkin_healthy(base_url: str, timeout: float = 3) -> bool:
    """Zipkin's own health endpoint says UP (its storage answers)."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=timeout) as response:
            return bool(json.load(response).get("status") == "UP")
    except (urllib.error.URLError, OSError, ValueError):
        return False
