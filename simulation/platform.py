"""The platform the simulation runs on, owned by it: Kafka and the store (the H2 file backend, so a
kill -9 loses nothing acknowledged) in a state folder, the four services as processes on the shared
clock, and what an operator does when something breaks (kill -9, stop, restart)."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import localstack  # deploy/local is on the path (make simulate, pytest)
from service_fleet import SERVICES, ServiceFleet

DATABASE_PREFIX = "sim_"


@dataclass
class Fault:
    kind: str  # "kill -9 <service>[ and <service>]", "broker stopped", "store killed"
    at: str  # the platform's time when it happened
    down_seconds: float = 0.0  # real seconds until the operator had it back
    error: str | None = None  # the operator could not bring it back


@dataclass
class Platform:
    state: Path
    kafka: localstack.KafkaServer
    store: localstack.MongoStore
    fleet: ServiceFleet
    secret: str
    faults: list[Fault] = field(default_factory=list)
    _operators: list[threading.Thread] = field(default_factory=list)

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{port}" for name, port in self.fleet.ports.items()}

    def database(self, service: str) -> str:
        return f"{DATABASE_PREFIX}{service}"

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, state: Path, grace_seconds: float) -> Platform:
        state.mkdir(parents=True, exist_ok=True)
        kafka = localstack.KafkaServer(state / "kafka")
        store = localstack.MongoStore(state / "store", persistent=True)
        with ThreadPoolExecutor(2) as starting:  # side by side: Kafka is the slow one
            list(starting.map(lambda server: server.start(), (kafka, store)))
        secret = secrets.token_urlsafe(32)
        fleet = ServiceFleet(
            env=_service_env(kafka.bootstrap_servers, store.url, secret, grace_seconds),
            log_dir=state / "logs",
            ports={name: localstack.free_port() for name in SERVICES},
            new_port=localstack.free_port,
        )
        platform = cls(state, kafka, store, fleet, secret)
        try:
            fleet.start(timeout=120)
        except BaseException:
            platform.stop()
            raise
        return platform

    def stop(self) -> None:
        self.fleet.stop()
        for server in (self.store, self.kafka):
            server.stop()

    # ------------------------------------------------------------------ faults

    def inject(self, kind: str, at: str, down_seconds: float = 1.0) -> threading.Thread:
        """Break something now and have the operator bring it back in the background (after
        `down_seconds` of outage); the simulation carries on meanwhile, retrying what fails."""
        fault = Fault(kind, at)
        self.faults.append(fault)
        thread = threading.Thread(target=self._outage, args=(fault, down_seconds), daemon=True)
        thread.start()
        self._operators.append(thread)
        return thread

    def outage_over(self) -> bool:
        return not any(thread.is_alive() for thread in self._operators)

    def wait_for_operator(self, timeout: float = 300.0) -> None:
        """Until every outage is over (or the operator gave up)."""
        for thread in self._operators:
            thread.join(timeout)

    def _outage(self, fault: Fault, down_seconds: float) -> None:
        started = time.monotonic()
        try:
            self._break_and_repair(fault, down_seconds)
        except Exception as error:
            fault.error = repr(error)
        fault.down_seconds = round(time.monotonic() - started, 1)

    def _restart(self, name: str, attempts: int = 3) -> None:
        """Start the service again; if it does not come up (a dependency is away), try again."""
        for attempt in range(1, attempts + 1):
            try:
                self.fleet.restart(name, timeout=120)
                return
            except (RuntimeError, TimeoutError):
                if attempt == attempts:
                    raise
                time.sleep(2.0)

    def _break_and_repair(self, fault: Fault, down_seconds: float) -> None:
        if fault.kind.startswith("kill -9 "):
            names = fault.kind.removeprefix("kill -9 ").split(" and ")
            for name in names:
                process = self.fleet.services[name].process
                assert process is not None
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            time.sleep(down_seconds)
            with ThreadPoolExecutor(len(names)) as operators:  # they start side by side
                list(operators.map(self._restart, names))
        elif fault.kind == "broker stopped":
            self.kafka.stop()
            time.sleep(down_seconds)
            self.kafka.start()
        elif fault.kind == "store killed":
            pid = self.store.pid()
            assert pid is not None
            os.killpg(pid, signal.SIGKILL)
            while self.store.is_running():
                time.sleep(0.05)
            time.sleep(down_seconds)
            self.store.start()
        else:
            raise ValueError(f"unknown fault {fault.kind!r}")


def _service_env(kafka: str, mongodb: str, secret: str, grace_seconds: float) -> dict[str, str]:
    """The services as `make run` configures them, on the shared clock; sweeps look every half
    second (the clock jumps a day at a time), a session counts as missed once a clock step passed
    without a check-in, and notifications are kept for the whole run."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "MONGODB_URL": mongodb,
        "MONGODB_DATABASE_PREFIX": DATABASE_PREFIX,
        "AUTH_ALLOW_DEV_HS256": "true",
        "AUTH_DEV_HS256_SECRET": secret,
        "CLOCK": "shared",
        "CLOCK_REFRESH_SECONDS": "0.2",
        "MISSED_GRACE_SECONDS": str(int(grace_seconds)),
        "MISSED_SWEEP_EVERY_SECONDS": "0.5",
        "MATCHING_SWEEP_SECONDS": "0.5",
        "SEAL_ERASURES_EVERY_SECONDS": "0.5",
        "DELIVERY_SWEEP_EVERY_SECONDS": "0.5",
        "NOTIFICATION_RETENTION_DAYS": "3650",
        "OUTBOX_POLL_SECONDS": "0.2",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "LOG_LEVEL": "WARNING",
    }
