"""Start the four services as real processes (the way `make run` does) and stop them cleanly.

Used by `make run` (through `run_platform.py`) and by the end-to-end tests, so both exercise the
same start-up path. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SERVICES: dict[str, int] = {
    "profiles": 8001,
    "matching": 8002,
    "sessions": 8003,
    "notifications": 8004,
}


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class ServiceFleet:
    """The four services, each its own process with its own port and log file."""

    env: dict[str, str]
    log_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    python: str = sys.executable
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, timeout: float = 60.0) -> None:
        for name in self.ports:
            self._spawn(name)
        deadline = time.monotonic() + timeout
        for service in self.services.values():
            self._wait_ready(service, deadline)

    def restart(self, name: str, timeout: float = 60.0) -> None:
        """Start one service again (after it died or was killed), as an operator would."""
        self._wait_ready(self._spawn(name), time.monotonic() + timeout)

    def _spawn(self, name: str) -> ServiceProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = self.ports[name]
        log_path = self.log_dir / f"{name}.log"
        env = {**os.environ, **self.env, "HTTP_PORT": str(port)}
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [self.python, "-m", name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.services[name] = ServiceProcess(name, port, log_path, process)
        return self.services[name]

    def _wait_ready(self, service: ServiceProcess, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert service.process is not None
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{service.url}/ready", timeout=2) as response:
                    if json.load(response).get("status") == "ready":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{service.name} not ready in time:\n{service.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        for service in self.services.values():
            if service.process and service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for service in self.services.values():
            if service.process is None:
                continue
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()
