"""The MongoDB-protocol store for local runs and tests: mongo-java-server through our launcher
(`deploy/local/mongo/`), with the memory backend (tests, CI, benchmarks) or the H2 file backend
(`make run`: a restart keeps the data that Kafka's committed offsets assume).

What the emulator does not do is written once, in `servicekit.mongo`.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from localstack.install import QUICK_JIT, STORE_MAIN_CLASS, install_store, require_java
from localstack.process import ManagedServer, ensure_ports_free, free_port, recv_exact

# The store holds every service's data in its heap (the memory backend all of it): a full `make
# bench` outgrew 1 GiB (garbage collection then took the store's time and the journey saw 503s).
# The heap grows only as far as it is used. G1 rather than the serial collector: the data is
# long-lived, and the serial collector's full collections stopped every service's requests for
# hundreds of milliseconds at a time (3.1 s of pauses in a 20 s consumer benchmark, one of 438 ms);
# with G1, side by side in `make bench`, sessions and notifications ran 10-25% faster and the
# journey's p99 was 1.1-1.3 s where the serial runs gave 1.4-5.3 s. It costs memory: 1.2-1.8 GB
# resident at the end of a bench, against 1.2 GB.
#
# What survives a young collection is almost all stored documents, which live until their database
# is dropped: they go to the old generation at their first collection instead of being copied
# between survivor spaces up to 15 times first. Two matching floods (20,000 records each) paused
# the store 1.12 s in all against 1.51 s (the late pauses 45-74 ms against 100-280 ms), with 754-848
# MB of heap committed against 1,290 MB; over three alternated runs of two floods the store's CPU
# per record was 0.285 ms against 0.314 and matching's records/s 1,280 against 1,234 (means).
#
# Copying them once is still a third of the store's CPU in matching's flood with two replicas (a
# flood once the JIT is done: 0.47 s in the GC threads and 0.12 s refining, 0.98 s serving). The
# parallel collector did it no cheaper (GC threads 4.69 s against 3.07-3.25 s over a warm-up and
# three floods, twice; the floods no faster), nor did a young generation fixed at 768 MB (GC
# threads 2.99-3.35 s against 3.10-3.32 s, twice) or one GC thread (3.85 s against 3.30-3.49 s).
_STORE_HEAP = ["-Xms64m", "-Xmx3g", "-XX:MaxTenuringThreshold=0"]


# A store that serves for many minutes (a benchmark, `make run`, `localstack start`) compiles its hot
# paths with C2 as well: the C1 alone of `QUICK_JIT` suits the test runs, whose stores live for a
# few minutes of varied work, and it is what C2's compilations cost there that it saves. In the
# matching flood with two replicas (20,000 records; two fresh stores of each kind in turn, two
# floods measured on each after a warm-up flood), the store's CPU per record was 0.159-0.206 ms
# with C2 against 0.219-0.238 with C1, and the floods ran 2,284-2,447 records/s against
# 1,981-2,212. C2's compilations fall in the first flood: 0.44-0.48 ms per record there against
# 0.25-0.28, and 1,562-1,597 records/s against 1,957-2,098.
_LONG_RUNNING_JIT: list[str] = []


class MongoStore(ManagedServer):
    """mongo-java-server on 127.0.0.1; `persistent` selects the H2 file backend in state_dir;
    `long_running`, a store that serves for many minutes (its JIT: `_LONG_RUNNING_JIT`)."""

    name = "store"
    cmd_marker = STORE_MAIN_CLASS

    def __init__(
        self,
        state_dir: Path,
        port: int | None = None,
        *,
        persistent: bool = False,
        long_running: bool = False,
    ) -> None:
        super().__init__(state_dir)
        self.port: int = port or self._recorded().get("port") or free_port()
        self.persistent = persistent
        self.long_running = long_running
        self.data_file = self.dir / "store.mv.db"
        self.log = self.dir / "store.log"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> None:
        """Install if needed, start the launcher and wait for a real `isMaster` reply."""
        if self.is_running():
            self._wait_ready(timeout, self._protocol_ok, [self.log])
            return
        java = require_java()
        classpath = install_store()
        ensure_ports_free("the store", {"port": self.port})
        cmd = self.command(java, classpath)
        self._spawn(cmd, self.log, {"port": self.port})
        self._wait_ready(timeout, self._protocol_ok, [self.log])

    def command(self, java: str, classpath: str) -> list[str]:
        """The launcher's command line."""
        backend = ["--h2-file", str(self.data_file)] if self.persistent else []
        return [
            java,
            *_STORE_HEAP,
            "-XX:+UseG1GC",
            *(_LONG_RUNNING_JIT if self.long_running else QUICK_JIT),
            "-Djava.awt.headless=true",
            "-cp",
            classpath,
            STORE_MAIN_CLASS,
            "--port",
            str(self.port),
            *backend,
            # The state dir is in the command line so a stale pid file never adopts another's server.
            "--tag",
            str(self.dir),
        ]

    def _protocol_ok(self) -> bool:
        return mongo_ping("127.0.0.1", self.port)

    def reset(self) -> None:
        """Forget every stored document (the H2 file); the server must be stopped."""
        self.data_file.unlink(missing_ok=True)


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
        length, _, response_to, opcode = struct.unpack("<iiii", recv_exact(sock, 16))
        payload = recv_exact(sock, length - 16)
    if opcode != op_msg or response_to != request_id:
        raise ConnectionError(f"unexpected MongoDB reply (opcode {opcode}, responseTo {response_to})")
    # payload = flagBits(uint32) + section kind byte (0 = body) + BSON document
    if payload[4] != 0:
        raise ConnectionError(f"unexpected OP_MSG section kind {payload[4]}")
    return _bson_top_level_number(payload[5:], "ok") == 1
