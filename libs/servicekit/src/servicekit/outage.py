"""A broker outage is one log line when it starts and one when it ends, not thousands.

While Kafka is unreachable, aiokafka logs every failed connect, metadata update, fetch and
heartbeat (measured: 2,353 lines in 24 s for one service). Its records go through `KafkaClientLog`
instead: the first warning or error while Kafka was up becomes one line saying Kafka is
unreachable; the rest are counted, not printed. The runtime pings the broker every few seconds
and reports the result here, which ends the outage with one line (how long, how much was hushed).

During start-up, and again after an outage, the coordinator and topics are still settling
(GroupCoordinatorNotAvailable, a failed heartbeat and the like mean nothing is wrong), so client
warnings then are kept at debug level; a failed ping meanwhile is still reported as an outage.
"""

from __future__ import annotations

import logging
import re
import time
from enum import StrEnum

from aiokafka.errors import KafkaError

log = logging.getLogger("servicekit.kafka")

# What aiokafka says when it cannot reach the broker at all.
_CONNECTION_TROUBLE = re.compile(
    r"Unable connect|Unable to update metadata|NodeNotReady|KafkaConnectionError|Connection at .* closed|"
    r"Connect call failed|Coordinator dead|coordinator dead",
    re.IGNORECASE,
)

STARTUP_GRACE_SECONDS = 30.0


class KafkaState(StrEnum):
    STARTING = "starting"
    UP = "up"
    DOWN = "down"


class KafkaClientLog(logging.Handler):
    """Receives aiokafka's records and the runtime's pings; prints outages, not their noise."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.state = KafkaState.STARTING
        self._since = time.monotonic()
        self.hushed = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            log.handle(record)
        elif self.state is KafkaState.DOWN:
            self.hushed += 1
        elif self.state is KafkaState.STARTING:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            if log.isEnabledFor(logging.DEBUG):
                log.handle(record)
        elif _CONNECTION_TROUBLE.search(record.getMessage()):
            self.unreachable(record.getMessage())
        else:  # a rebalance, a retried produce: worth seeing, not an outage
            log.handle(record)

    def starting(self) -> None:
        """A runtime is starting: settle quietly for a while."""
        if self.state is not KafkaState.DOWN:
            self.state, self._since = KafkaState.STARTING, time.monotonic()

    def unreachable(self, reason: str) -> None:
        if self.state is KafkaState.DOWN:
            self.hushed += 1
            return
        self.state, self._since, self.hushed = KafkaState.DOWN, time.monotonic(), 0
        log.error("Kafka is unreachable (%s); its client errors are hushed until it is back", reason)

    def reachable(self) -> None:
        now = time.monotonic()
        if self.state is KafkaState.DOWN:
            log.warning(
                "Kafka is reachable again after %.0f s (%d client errors hushed)",
                now - self._since,
                self.hushed,
            )
            # Back, but the group coordinator and the partition leaders settle again first: the
            # client's warnings meanwhile (a failed heartbeat, "coordinator dead") are no new
            # outage (a CI run printed a second outage line for them); failed pings still are.
            self.state, self._since = KafkaState.STARTING, now
        elif self.state is KafkaState.STARTING and now - self._since >= STARTUP_GRACE_SECONDS:
            self.state = KafkaState.UP

    def failure(self, error: BaseException, what: str) -> bool:
        """A Kafka error seen by our own code (relay, DLQ): True if it belongs to the outage and was
        recorded here, so the caller need not log it with its traceback."""
        if not isinstance(error, KafkaError | TimeoutError | ConnectionError):
            return False
        self.unreachable(f"{what}: {type(error).__name__}: {error}")
        return True


_installed: KafkaClientLog | None = None


def kafka_client_log() -> KafkaClientLog:
    """The process's one `KafkaClientLog`, installed on the `aiokafka` logger on first use."""
    global _installed
    if _installed is None:
        _installed = KafkaClientLog()
        client = logging.getLogger("aiokafka")
        client.addHandler(_installed)
        client.propagate = False
    return _installed
