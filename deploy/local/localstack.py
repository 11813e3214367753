#!/usr/bin/env python3
"""Install, start, probe and stop a local Kafka + FerretDB stack without Docker.

This machine (and CI, and every developer box) has no Docker engine and reaches
only package registries, so both servers are built from registry artifacts:

* Apache Kafka in KRaft combined mode (broker+controller, one node) runs from
  jars that Maven copies out of Maven Central (see ``kafka/pom.xml``).
* FerretDB (MongoDB wire protocol over SQLite) runs through our own tiny Go
  launcher (``ferretdb/``), built against modules from the Go module proxy.

Installed artifacts are cached outside the repo, keyed by version, under
``${MENTORSHIP_CACHE:-~/.cache/mentorship}`` so a fresh clone reuses them.

The module is stdlib-only on purpose: it is imported by the test fixtures and
run by ``make`` before any virtualenv exists.

CLI::

    python3 deploy/local/localstack.py install
    python3 deploy/local/localstack.py start  [--state-dir DIR]
                                              [--kafka-port 9092] [--mongo-port 27017]
    python3 deploy/local/localstack.py status [--state-dir DIR]
    python3 deploy/local/localstack.py stop   [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

KAFKA_VERSION: str = "4.1.1"
FERRETDB_VERSION: str = "1.24.2"

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
KAFKA_POM = HERE / "kafka" / "pom.xml"
FERRETDB_MODULE = HERE / "ferretdb"

# Name of the file written into an install dir only once the install succeeded.
# It holds a fingerprint of the inputs, so editing pom.xml / go.mod re-installs.
_MARKER = ".installed"

# Kafka's JVM: small heap, it only serves tests and local runs.
_KAFKA_HEAP = ["-Xms128m", "-Xmx512m"]


class MissingTool(RuntimeError):
    """A required external tool (java, mvn, go) is not installed."""


class InstallError(RuntimeError):
    """Downloading or building a server failed."""


class StartupError(RuntimeError):
    """A server died or did not become ready in time; the message has the log tail."""


# --------------------------------------------------------------------------- #
# Tools, cache and install
# --------------------------------------------------------------------------- #

_TOOL_HINTS: dict[str, str] = {
    "java": ("java is required to run Kafka; install a JDK 17+ (apt-get install openjdk-17-jre-headless)"),
    "mvn": ("mvn is required to download Kafka from Maven Central; install Maven (apt-get install maven)"),
    "go": (
        "go is required to build the FerretDB launcher; install Go 1.21+ "
        "(it fetches the Go 1.24 toolchain FerretDB needs from the module proxy by itself)"
    ),
}


def _require(tool: str) -> str:
    """Return the tool's path or raise MissingTool with an actionable message."""
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(_TOOL_HINTS[tool])
    return path


def _require_java() -> str:
    """Find java and check it is 17+ (Kafka 4.x brokers refuse older JVMs)."""
    java = _require("java")
    proc = subprocess.run([java, "-version"], capture_output=True, text=True)
    m = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if m:
        major = int(m.group(1))
        if major == 1 and m.group(2):  # "1.8.0_x" style
            major = int(m.group(2))
        if major < 17:
            raise MissingTool(f"{_TOOL_HINTS['java']} (found Java {major} at {java})")
    return java


def cache_dir() -> Path:
    """Root of the version-keyed install cache (outside the repo, shared by clones)."""
    root = os.environ.get("MENTORSHIP_CACHE") or str(Path.home() / ".cache" / "mentorship")
    return Path(root).expanduser().resolve()


def _fingerprint(version: str, *files: Path) -> str:
    h = hashlib.sha256(version.encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _is_installed(target: Path, fingerprint: str) -> bool:
    marker = target / _MARKER
    return marker.is_file() and marker.read_text().strip() == fingerprint


@contextlib.contextmanager
def _install_lock(name: str) -> Iterator[None]:
    """Serialise installs across processes (e.g. parallel test workers)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_install_step(cmd: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise InstallError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def install_kafka() -> Path:
    """Copy Kafka's runtime jars into the cache (once per version); return the libs dir."""
    target = cache_dir() / f"kafka-{KAFKA_VERSION}"
    libs = target / "libs"
    fp = _fingerprint(KAFKA_VERSION, KAFKA_POM)
    if _is_installed(target, fp):
        return libs
    with _install_lock(f"kafka-{KAFKA_VERSION}"):
        if _is_installed(target, fp):  # another process finished it meanwhile
            return libs
        mvn = _require("mvn")
        # Start from scratch: a half-copied or stale libs dir could mix jar versions.
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _run_install_step(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(KAFKA_POM),
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
            ],
            cwd=KAFKA_POM.parent,
            what=f"Downloading Kafka {KAFKA_VERSION} jars with Maven",
        )
        if not any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
            raise InstallError(f"Maven finished but {libs} has no kafka_2.13-{KAFKA_VERSION}.jar")
        (target / _MARKER).write_text(fp + "\n")
    return libs


def _ferretdb_module_version() -> str | None:
    m = re.search(r"github\.com/FerretDB/FerretDB v(\S+)", (FERRETDB_MODULE / "go.mod").read_text())
    return m.group(1) if m else None


def install_ferretdb() -> Path:
    """Build the FerretDB launcher into the cache (once per version); return the binary."""
    target = cache_dir() / f"ferretdb-{FERRETDB_VERSION}"
    binary = target / "ferretdb-launcher"
    sources = [FERRETDB_MODULE / "go.mod", FERRETDB_MODULE / "go.sum", *sorted(FERRETDB_MODULE.glob("*.go"))]
    fp = _fingerprint(FERRETDB_VERSION, *sources)
    if _is_installed(target, fp) and binary.is_file():
        return binary
    with _install_lock(f"ferretdb-{FERRETDB_VERSION}"):
        if _is_installed(target, fp) and binary.is_file():
            return binary
        module_version = _ferretdb_module_version()
        if module_version != FERRETDB_VERSION:
            raise InstallError(
                f"ferretdb/go.mod requires FerretDB {module_version}, "
                f"but localstack.FERRETDB_VERSION is {FERRETDB_VERSION}; keep them in sync"
            )
        go = _require("go")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        env = dict(os.environ)
        # Pure-Go SQLite (modernc.org), so no C compiler is needed; a static
        # binary also keeps working if system libraries change under the cache.
        env["CGO_ENABLED"] = "0"
        tmp = target / "ferretdb-launcher.tmp"
        # Default -mod=readonly: the committed go.sum must be complete, and the
        # build must never rewrite go.mod/go.sum inside the repo.
        # ferretdb_no_postgresql drops the unused PostgreSQL backend (faster build).
        _run_install_step(
            [go, "build", "-trimpath", "-tags", "ferretdb_no_postgresql", "-o", str(tmp), "."],
            cwd=FERRETDB_MODULE,
            env=env,
            what=f"Building the FerretDB {FERRETDB_VERSION} launcher with Go",
        )
        tmp.rename(binary)
        (target / _MARKER).write_text(fp + "\n")
    return binary


# --------------------------------------------------------------------------- #
# Process helpers
# --------------------------------------------------------------------------- #


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (racy by nature, good enough locally)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
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


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return bytes(buf)


# What a readiness probe may raise while a server is still coming up (or is not
# the server we expect): socket errors plus parse errors on an unexpected reply.
_PROBE_ERRORS = (OSError, ValueError, IndexError, struct.error)


class _ManagedServer:
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
        except _PROBE_ERRORS:
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
            except _PROBE_ERRORS as e:  # refused, reset, timeout, garbled reply...
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


def _ensure_ports_free(name: str, ports: dict[str, int]) -> None:
    busy = [f"{k}={p}" for k, p in ports.items() if not _port_is_free(p)]
    if busy:
        raise StartupError(f"cannot start {name}: port already in use on 127.0.0.1 ({', '.join(busy)})")


# --------------------------------------------------------------------------- #
# Kafka
# --------------------------------------------------------------------------- #

# Only WARN+ goes to the file, except the lifecycle logger whose
# "Kafka Server started" line is part of the readiness check.
_KAFKA_LOG4J2 = """\
# Written by deploy/local/localstack.py; log4j2 config for the local Kafka.
status = warn
name = localstack
# Kafka shuts down inside its own JVM shutdown hook; log4j's hook would race it
# (and warn "Unable to register Log4j shutdown hook"). The file appender flushes
# every line anyway.
shutdownHook = disable
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
"""

_KAFKA_STARTED_LINE = "Kafka Server started"


def _kafka_cluster_id() -> str:
    """Same format as `kafka-storage random-uuid`, without paying for a JVM start.

    A Kafka Uuid is 16 random bytes in unpadded URL-safe base64; Kafka never hands
    out ids starting with '-' because they look like CLI flags.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaServer(_ManagedServer):
    """Single-node Kafka (KRaft broker+controller); config, logs and data live in state_dir."""

    name = "kafka"
    cmd_marker = "kafka.Kafka"

    def __init__(self, state_dir: Path, port: int | None = None, controller_port: int | None = None) -> None:
        super().__init__(state_dir)
        recorded = self._recorded()
        # Adopt the ports of an instance already running from this state dir, so
        # `KafkaServer(dir)` can report/stop what the CLI started earlier.
        self.port: int = port or recorded.get("port") or free_port()
        self.controller_port: int = controller_port or recorded.get("controller_port") or 0
        while self.controller_port in (0, self.port):  # two free_port() calls may agree
            self.controller_port = free_port()
        self.properties = self.dir / "server.properties"
        self.log4j_config = self.dir / "log4j2.properties"
        self.server_log = self.dir / "server.log"  # log4j output
        self.console_log = self.dir / "kafka.out"  # JVM stdout/stderr (crashes before log4j)
        self.data_dir = self.dir / "kafka-data"
        self._log_offset = 0  # size of server.log before our start; older lines are ignored

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            # Static quorum (controller.quorum.voters), not the 4.x dynamic
            # controller.quorum.bootstrap.servers + `format --standalone`: a
            # dynamic quorum stores the controller endpoint in the formatted log,
            # while a static one reads it from this file, so the controller port
            # may change between restarts of the same state dir.
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # Single node: every internal topic must have replication factor 1.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # The project creates its topics explicitly; typos should fail loudly.
            "auto.create.topics.enable": "false",
            # Small footprint: fewer threads, small segments/indexes, small cleaner buffer.
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.segment.bytes": str(16 * 1024 * 1024),
            "log.index.size.max.bytes": str(1024 * 1024),
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
            "log.retention.hours": "24",
        }
        self.properties.write_text(
            "# Written by deploy/local/localstack.py on each start; edits are overwritten.\n"
            + "".join(f"{k}={v}\n" for k, v in props.items())
        )
        self.log4j_config.write_text(_KAFKA_LOG4J2.format(log=self.server_log))

    def _java_cmd(self, libs: Path, java: str, main: str, *args: str) -> list[str]:
        return [
            java,
            *_KAFKA_HEAP,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_config}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _format_storage(self, libs: Path, java: str) -> None:
        """Format the KRaft log dir once; later starts reuse the data (and topics)."""
        if (self.data_dir / "meta.properties").is_file():
            return
        cmd = self._java_cmd(
            libs,
            java,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _kafka_cluster_id(),
            "--config",
            str(self.properties),
            "--ignore-formatted",
        )
        proc = subprocess.run(cmd, cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StartupError(
                f"formatting Kafka storage failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )

    def start(self, timeout: float = 90) -> None:
        """Install if needed, format storage if new, start the broker and wait until it serves."""
        if self.is_running():
            self._wait_ready(timeout, self._probe, [self.server_log, self.console_log])
            return
        java = _require_java()
        libs = install_kafka()
        _ensure_ports_free("Kafka", {"port": self.port, "controller_port": self.controller_port})
        self._write_config()
        self._format_storage(libs, java)
        # Only log lines written by this run count for readiness.
        self._log_offset = self.server_log.stat().st_size if self.server_log.exists() else 0
        self._spawn(
            self._java_cmd(libs, java, "kafka.Kafka", str(self.properties)),
            self.console_log,
            {"port": self.port, "controller_port": self.controller_port},
        )
        self._wait_ready(timeout, self._probe, [self.server_log, self.console_log])

    def _probe(self) -> bool:
        """Ready = our log says the server started AND it answers Kafka ApiVersions + Metadata."""
        try:
            with open(self.server_log, "rb") as fh:
                fh.seek(self._log_offset)
                if _KAFKA_STARTED_LINE.encode() not in fh.read():
                    return False
        except FileNotFoundError:
            return False
        return self._protocol_ok()

    def _protocol_ok(self) -> bool:
        return kafka_protocol_ready("127.0.0.1", self.port)

    def stop(self, timeout: float = 30) -> None:
        super().stop(timeout)


def _kafka_request(
    sock: socket.socket, api_key: int, api_version: int, correlation_id: int, body: bytes
) -> bytes:
    """Send one request (v1, non-flexible header); return the response after its correlation id."""
    client_id = b"localstack"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    payload = _recv_exact(sock, size)
    (got,) = struct.unpack(">i", payload[:4])
    if got != correlation_id:
        raise ConnectionError(f"Kafka correlation id mismatch ({got} != {correlation_id})")
    return payload[4:]


def kafka_protocol_ready(host: str, port: int, timeout: float = 3) -> bool:
    """Speak the Kafka protocol: ApiVersions v0 must succeed and Metadata v0 must list a broker.

    Both versions are still supported by Kafka 4.x (KIP-896 removed older versions of
    other APIs only). A listed broker means the broker registered with the controller
    and is unfenced, i.e. clients can actually use it.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        api_versions = _kafka_request(sock, api_key=18, api_version=0, correlation_id=1, body=b"")
        (error_code,) = struct.unpack(">h", api_versions[:2])
        if error_code != 0:
            return False
        # Metadata v0 with an empty topic array = "all topics"; we only need the broker count.
        metadata = _kafka_request(sock, api_key=3, api_version=0, correlation_id=2, body=struct.pack(">i", 0))
        (brokers,) = struct.unpack(">i", metadata[:4])
        return int(brokers) >= 1


# --------------------------------------------------------------------------- #
# FerretDB
# --------------------------------------------------------------------------- #


class FerretDBServer(_ManagedServer):
    """FerretDB with the SQLite backend; log and databases live in state_dir."""

    name = "ferretdb"
    cmd_marker = "ferretdb-launcher"

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        super().__init__(state_dir)
        self.port: int = port or self._recorded().get("port") or free_port()
        self.data_dir = self.dir / "ferretdb-sqlite"
        self.log = self.dir / "ferretdb.log"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> None:
        """Install if needed, start the launcher and wait for a real `isMaster` reply."""
        if self.is_running():
            self._wait_ready(timeout, self._probe, [self.log])
            return
        binary = install_ferretdb()
        _ensure_ports_free("FerretDB", {"port": self.port})
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(
            [str(binary), "-listen", f"127.0.0.1:{self.port}", "-sqlite-dir", str(self.data_dir)],
            self.log,
            {"port": self.port},
        )
        self._wait_ready(timeout, self._probe, [self.log])

    def _probe(self) -> bool:
        return self._protocol_ok()

    def _protocol_ok(self) -> bool:
        return mongo_ping("127.0.0.1", self.port)

    def stop(self, timeout: float = 15) -> None:
        super().stop(timeout)


# Minimal BSON: enough to build {isMaster: 1, $db: "admin"} and read "ok" back.


def _bson_cstring(s: str) -> bytes:
    return s.encode() + b"\x00"


def _bson_doc(fields: dict[str, int | str]) -> bytes:
    body = b""
    for key, value in fields.items():
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(f"unsupported BSON value for {key!r}")
        if isinstance(value, int):
            body += b"\x10" + _bson_cstring(key) + struct.pack("<i", value)
        else:
            raw = value.encode() + b"\x00"
            body += b"\x02" + _bson_cstring(key) + struct.pack("<i", len(raw)) + raw
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _bson_top_level_number(doc: bytes, wanted: str) -> float | None:
    """Return the numeric top-level field `wanted` of a BSON document, or None."""
    fixed = {
        0x01: 8,
        0x07: 12,
        0x08: 1,
        0x09: 8,
        0x0A: 0,
        0x10: 4,
        0x11: 8,
        0x12: 8,
        0x13: 16,
        0x7F: 0,
        0xFF: 0,
    }
    pos, end = 4, struct.unpack("<i", doc[:4])[0] - 1
    while pos < end:
        etype = doc[pos]
        name_end = doc.index(b"\x00", pos + 1)
        name = doc[pos + 1 : name_end].decode(errors="replace")
        pos = name_end + 1
        if name == wanted:
            if etype == 0x01:
                return float(struct.unpack("<d", doc[pos : pos + 8])[0])
            if etype == 0x10:
                return float(struct.unpack("<i", doc[pos : pos + 4])[0])
            if etype == 0x12:
                return float(struct.unpack("<q", doc[pos : pos + 8])[0])
            if etype == 0x08:
                return float(doc[pos])
            return None
        if etype in fixed:
            pos += fixed[etype]
        elif etype in (0x02, 0x0D, 0x0E):  # string, JS code, symbol: int32 length + bytes
            pos += 4 + struct.unpack("<i", doc[pos : pos + 4])[0]
        elif etype in (0x03, 0x04, 0x0F):  # document, array, code-with-scope: self-sized
            pos += struct.unpack("<i", doc[pos : pos + 4])[0]
        elif etype == 0x05:  # binary: int32 length + subtype byte + bytes
            pos += 5 + struct.unpack("<i", doc[pos : pos + 4])[0]
        elif etype == 0x0B:  # regex: two cstrings
            pos = doc.index(b"\x00", doc.index(b"\x00", pos) + 1) + 1
        elif etype == 0x0C:  # DBPointer: string + 12-byte ObjectId
            pos += 4 + struct.unpack("<i", doc[pos : pos + 4])[0] + 12
        else:
            raise ValueError(f"unknown BSON element type 0x{etype:02x}")
    return None


def mongo_ping(host: str, port: int, timeout: float = 3) -> bool:
    """One real MongoDB wire round trip: OP_MSG {isMaster: 1, $db: "admin"} must answer ok: 1."""
    op_msg = 2013
    body = struct.pack("<I", 0) + b"\x00" + _bson_doc({"isMaster": 1, "$db": "admin"})
    request_id = 1
    message = struct.pack("<iiii", 16 + len(body), request_id, 0, op_msg) + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(message)
        length, _, response_to, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
        payload = _recv_exact(sock, length - 16)
    if opcode != op_msg or response_to != request_id:
        raise ConnectionError(f"unexpected MongoDB reply (opcode {opcode}, responseTo {response_to})")
    # payload = flagBits(uint32) + section kind byte (0 = body) + BSON document
    if payload[4] != 0:
        raise ConnectionError(f"unexpected OP_MSG section kind {payload[4]}")
    return _bson_top_level_number(payload[5:], "ok") == 1


# --------------------------------------------------------------------------- #
# CLI
# --------------------------------------------------------------------------- #


def _default_state_dir() -> Path:
    # Same override as deploy/local/run_platform.py, so `make status/stop` find its servers.
    return Path(os.environ.get("MENTORSHIP_STATE_DIR") or REPO_ROOT / ".local")


def _servers(state: Path) -> tuple[KafkaServer, FerretDBServer]:
    """The stack's servers, each in its own sub-directory of the stack state dir.

    Without explicit ports they adopt those of an instance already running there.
    """
    return KafkaServer(state / "kafka"), FerretDBServer(state / "ferretdb")


def _status_line(server: KafkaServer | FerretDBServer) -> tuple[bool, str]:
    address = (
        f"bootstrap_servers={server.bootstrap_servers}"
        if isinstance(server, KafkaServer)
        else f"url={server.url}"
    )
    if server.is_ready():
        return True, f"{server.name:<9} running  {address}  pid={server.pid()}"
    if server.is_running():
        return False, f"{server.name:<9} running but not answering  {address}  pid={server.pid()}"
    return False, f"{server.name:<9} stopped"


def _cmd_install(_: argparse.Namespace) -> int:
    t0 = time.monotonic()
    print(f"kafka {KAFKA_VERSION}: {install_kafka()} ({time.monotonic() - t0:.1f}s)")
    t0 = time.monotonic()
    print(f"ferretdb {FERRETDB_VERSION}: {install_ferretdb()} ({time.monotonic() - t0:.1f}s)")
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    # An instance already running from this state dir keeps its ports (start is idempotent).
    kafka, ferret = _servers(state)
    if not kafka.is_running():
        kafka = KafkaServer(
            state / "kafka", args.kafka_port, controller_port=args.kafka_controller_port or None
        )
    if not ferret.is_running():
        ferret = FerretDBServer(state / "ferretdb", args.mongo_port)
    started: list[_ManagedServer] = []
    try:
        servers: tuple[_ManagedServer, ...] = (kafka, ferret)
        for server in servers:
            if server.is_running():
                print(f"{server.name} already running (pid {server.pid()})")
                continue
            t0 = time.monotonic()
            server.start(timeout=args.timeout)
            started.append(server)
            print(f"{server.name} ready in {time.monotonic() - t0:.1f}s (pid {server.pid()})")
    except BaseException:
        # Do not leave half a stack behind: stop what this invocation started.
        for server in started:
            server.stop()
        raise
    info = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "mongo_url": ferret.url,
        "kafka_pid": kafka.pid(),
        "ferretdb_pid": ferret.pid(),
    }
    state.mkdir(parents=True, exist_ok=True)
    (state / "stack.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"KAFKA_BOOTSTRAP_SERVERS={kafka.bootstrap_servers}")
    print(f"MONGO_URL={ferret.url}")
    print(f"(written to {state / 'stack.json'})")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    for server in _servers(state):
        was = server.is_running()
        server.stop()
        print(f"{server.name} {'stopped' if was else 'was not running'}")
    (state / "stack.json").unlink(missing_ok=True)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    all_up = True
    for server in _servers(state):
        up, line = _status_line(server)
        all_up &= up
        print(line)
    return 0 if all_up else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localstack.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("install", help=f"download/build Kafka {KAFKA_VERSION} and FerretDB {FERRETDB_VERSION}")

    def with_state(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--state-dir",
            default=str(_default_state_dir()),
            help="where data, logs and pid files live (default: $MENTORSHIP_STATE_DIR or <repo>/.local)",
        )
        return p

    start = with_state(sub.add_parser("start", help="start both servers detached and wait until ready"))
    start.add_argument("--kafka-port", type=int, default=9092)
    start.add_argument("--kafka-controller-port", type=int, default=0, help="default: a free port")
    start.add_argument("--mongo-port", type=int, default=27017)
    start.add_argument("--timeout", type=float, default=120, help="readiness deadline per server, seconds")
    with_state(sub.add_parser("stop", help="stop both servers"))
    with_state(sub.add_parser("status", help="exit 0 if both servers answer, else 1"))

    args = parser.parse_args(argv)
    handler = {
        "install": _cmd_install,
        "start": _cmd_start,
        "stop": _cmd_stop,
        "status": _cmd_status,
    }
    try:
        return handler[args.command](args)
    except MissingTool as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (InstallError, StartupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
