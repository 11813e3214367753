"""Start the four services as real processes (the way `make run` does) and stop them cleanly.

Used by `make run` (through `run_platform.py`) and by the end-to-end tests, so both exercise the
same start-up path. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class PortTaken(RuntimeError):
    """A service exited because another process listened on its port."""


def _listens(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds a socket listening on `port` (None where /proc cannot tell)."""
    tables = []
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):  # no /proc, or no IPv6
            tables.append(Path(f"/proc/net/{name}").read_text().splitlines()[1:])
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    listening = {
        f"socket:[{fields[9]}]"
        for table in tables
        for fields in map(str.split, table)
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A"  # any address, listening
    }
    if not listening:
        return None  # something answered on the port, but this table does not show it
    for fd in fds:
        with contextlib.suppress(OSError):  # closed meanwhile
            if os.readlink(f"/proc/{pid}/fd/{fd}") in listening:
                return True
    return False


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
    """The four services, each its own process with its own port and log file.

    `new_port`, when given (ports drawn at random, as tests do), gives a service that could not
    bind its port another one, once: a port found free when drawn can be taken by another
    process's server before the service binds it."""

    env: dict[str, str]
    log_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    python: str = sys.executable
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    new_port: Callable[[], int] | None = None

    def start(self, timeout: float = 60.0) -> None:
        for name in self.ports:
            self._spawn(name)
        deadline = time.monotonic() + timeout
        for name in list(self.services):
            try:
                self._wait_ready(self.services[name], deadline)
            except PortTaken:
                if self.new_port is None:
                    raise
                self.ports[name] = self.new_port()
                self._wait_ready(self._spawn(name), deadline)

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
                tail = service.log_tail()
                error = PortTaken if "address already in use" in tail.lower() else RuntimeError
                raise error(f"{service.name} exited with {service.process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{service.url}/ready", timeout=2) as response:
                    # Ready, and this service's answer: another server on its port (one that took
                    # the port first) would say so too, while this one fails to bind and exits.
                    ready = json.load(response).get("status") == "ready"
                    if ready and _listens(service.process.pid, service.port) is not False:
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
