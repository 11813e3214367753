"""Supervise a local server process: its own process group, pid and info files, readiness
polling with log tails on failure, and stop with escalation (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from localstack.errors import StartupError

# Ports this process has handed out: free when checked, but their servers may not have bound them
# yet (a fleet draws a port for each of its four services before starting any).
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, below the range the kernel hands out to
    outgoing connections: a port from that range (what binding port 0 gives) can be taken by any
    client's connection between this check and the server's bind (a test run beside a simulation
    saw Kafka fail to bind so). Never one this process handed out before: a fleet once got the same
    port for two services, and the second's readiness was answered by the first. Between servers
    of different processes it stays racy, at one chance in thousands."""
    low, high = _listening_ports()
    for _ in range(200):
        port = random.randint(low, high)
        if port not in _handed_out and _port_is_free(port):
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # a crowded machine: any port
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    _handed_out.add(port)
    return port


def _listening_ports() -> tuple[int, int]:
    """Ports for our servers: from 10000 to just below the ephemeral range (Linux's is 32768-60999)."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    if ephemeral_low <= 11_000:  # an unusual range: above it, then
        return 61_000, 65_000
    return 10_000, ephemeral_low - 1


def interrupt_on_sigterm() -> None:
    """Let SIGTERM (a `kill`, `timeout`, a CI job stopped) unwind the process like Ctrl-C, so its
    `finally` blocks stop the servers and services it started (they run in sessions of their own
    and outlive a process that dies at once)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers bind (Java sets SO_REUSEADDR): a port whose last connections sit in
        # TIME_WAIT after a stop is free for them, so a restart on the same port works at once.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _tail(path: Path, lines: int = 40) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(data[-lines:]) or f"({path} is empty)"


def _pid_alive(pid: int, *markers: str) -> bool:
    """True if pid runs and its command line contains every marker.

    Checking the command line (program and state dir) guards against a stale pid
    file whose pid was reused by an unrelated process or by another state dir's server.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # A zombie has an empty cmdline: it is not running any more.
    return all(m.encode() in cmdline for m in markers)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return bytes(buf)


# What a readiness probe may raise while a server is still coming up (or is not
# the server we expect): socket errors plus parse errors on an unexpected reply.
PROBE_ERRORS = (OSError, ValueError, IndexError, struct.error)


class ManagedServer:
    """Common lifecycle: own process group, pid file, info file, stop with escalation."""

    name: str = ""
    cmd_marker: str = ""  # a string that must appear in the process's command line

    def __init__(self, state_dir: Path) -> None:
        # Every file name is prefixed or distinct per server, so the two servers
        # may share a state dir (the CLI gives each its own sub-directory).
        self.dir = Path(state_dir).resolve()
        self.pid_file = self.dir / f"{self.name}.pid"
        self.info_file = self.dir / f"{self.name}.json"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- persisted state ---------------------------------------------------- #
    def _recorded(self) -> dict[str, int]:
        """Ports/pid of the instance last started from this state dir, if it is alive."""
        try:
            info = json.loads(self.info_file.read_text())
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return {}
        alive = info.get("pid") == pid and _pid_alive(pid, self.cmd_marker, str(self.dir))
        return info if alive else {}

    def pid(self) -> int | None:
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        info = self._recorded()
        return int(info["pid"]) if info else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 60) -> None:
        raise NotImplementedError

    def _protocol_ok(self) -> bool:
        raise NotImplementedError

    def is_ready(self) -> bool:
        """Running AND answering its wire protocol right now (what `status` reports)."""
        if not self.is_running():
            return False
        try:
            return self._protocol_ok()
        except PROBE_ERRORS:
            return False

    def _spawn(self, cmd: list[str], log: Path, info: dict[str, int]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            # Own session/process group: stop() can signal the whole group, and
            # the server survives the CLI that launched it (detached start).
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        self.info_file.write_text(json.dumps({**info, "pid": self._proc.pid}) + "\n")

    def _wait_ready(self, timeout: float, probe_ready: Callable[[], bool], logs: list[Path]) -> None:
        """Poll probe_ready until it succeeds; on death or timeout stop and raise with log tails."""
        deadline = time.monotonic() + timeout
        last_error = "no probe attempted"
        while True:
            if not self.is_running():
                code = self._proc.returncode if self._proc is not None else "?"
                raise StartupError(
                    f"{self.name} exited during startup (exit code {code}).\n" + self._log_tails(logs)
                )
            try:
                if probe_ready():
                    return
                last_error = "not ready yet"
            except PROBE_ERRORS as e:  # refused, reset, timeout, garbled reply...
                last_error = f"{type(e).__name__}: {e}"
            if time.monotonic() >= deadline:
                self.stop()
                raise StartupError(
                    f"{self.name} was not ready within {timeout:.0f}s "
                    f"(last probe: {last_error}); stopped it.\n" + self._log_tails(logs)
                )
            time.sleep(0.25)

    @staticmethod
    def _log_tails(logs: list[Path]) -> str:
        return "\n".join(f"--- tail of {p} ---\n{_tail(p)}" for p in logs)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the process group, wait up to timeout, then SIGKILL. Idempotent."""
        pid = self.pid()
        if pid is not None:
            self._signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.is_running():
                self._signal_group(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while self.is_running() and time.monotonic() < deadline:
                    time.sleep(0.1)
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)  # reap, so no zombie is left behind
        for f in (self.pid_file, self.info_file):
            f.unlink(missing_ok=True)

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # start_new_session=True made the server its own group leader (pgid == pid).
            os.killpg(pid, sig)


def ensure_ports_free(name: str, ports: dict[str, int]) -> None:
    busy = [f"{k}={p}" for k, p in ports.items() if not _port_is_free(p)]
    if busy:
        raise StartupError(f"cannot start {name}: port already in use on 127.0.0.1 ({', '.join(busy)})")
