"""A `make bench` or `make simulate` that is stopped (a `kill`, `timeout`, a CI job cancelled) stops
the servers and services it started: they run in sessions of their own and would otherwise outlive
it, holding ports, memory and CPU (seen: a stopped bench left its Kafka and store running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # two short subprocesses: no server

LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "local"

# Starts a "server" in a session of its own, as localstack and the fleets do, and stops it in a
# `finally`, as they do.
SCRIPT = """
import subprocess, sys, time
import localstack
if sys.argv[1] == "yes":
    localstack.interrupt_on_sigterm()
server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
try:
    print(server.pid, flush=True)
    time.sleep(600)
finally:
    server.kill()
    server.wait()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _stopped_leaves_server(interrupt: str, patience: float) -> bool:
    env = {**os.environ, "PYTHONPATH": str(LOCAL)}
    runner = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, interrupt], stdout=subprocess.PIPE, text=True, env=env
    )
    assert runner.stdout is not None
    server = int(runner.stdout.readline())
    try:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=30)
        deadline = time.monotonic() + patience
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        return _alive(server)
    finally:
        if _alive(server):
            os.kill(server, signal.SIGKILL)


def test_sigterm_unwinds_like_ctrl_c_so_what_was_started_is_stopped() -> None:
    assert not _stopped_leaves_server("yes", patience=10)


def test_without_it_sigterm_leaves_the_server_running() -> None:
    """The check above can fail: the default SIGTERM leaves the server behind."""
    assert _stopped_leaves_server("no", patience=1)
