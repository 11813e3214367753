"""Apache Kafka 4.x in KRaft combined mode (one node, broker and controller) from Maven Central
jars, and a readiness probe that speaks the Kafka protocol."""

from __future__ import annotations

import base64
import socket
import struct
import subprocess
import uuid
from pathlib import Path

from localstack.errors import StartupError
from localstack.install import QUICK_JIT, install_kafka, require_java
from localstack.process import ManagedServer, ensure_ports_free, free_port, recv_exact

# Kafka's JVM: small heap, it only serves tests and local runs.
_KAFKA_HEAP = ["-Xms128m", "-Xmx512m"]
# C1 alone in the benchmarks too, unlike the store's `long_running` JIT. With C2 for Kafka as well
# (three runs of each kind, taken in turn: a passthrough warm-up and three floods, then matching's
# flood with two replicas, a warm-up and three floods), C2 was still compiling during the
# passthrough. Its baseline fell to 8,105-11,316 records/s, against 11,876-12,816 with C1 alone.
# The matching floods were no faster: 2,316-2,392 records/s against 2,223-2,371. Kafka used more
# CPU per record in them: 0.067-0.134 ms against 0.048-0.064. The matching ratios it gave
# (0.211-0.286) came from the slower baseline alone.

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


class KafkaServer(ManagedServer):
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
            *QUICK_JIT,
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
        java = require_java()
        libs = install_kafka()
        ensure_ports_free("Kafka", {"port": self.port, "controller_port": self.controller_port})
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
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    payload = recv_exact(sock, size)
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
