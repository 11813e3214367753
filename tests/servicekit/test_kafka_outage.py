"""A broker outage is one log line when it starts and one when it ends (against a real Kafka of
its own, stopped and restarted on the same port while a service runtime is consuming)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import localstack
from mentorship_schemas import PairCreated, Stream
from servicekit.kafka import ensure_topics
from servicekit.outage import KafkaClientLog, KafkaState, kafka_client_log
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from tests.conftest import Infra, drop_database
from tests.waiting import eventually


class Printed(logging.Handler):
    """What the service's log would print: the records that reach the root logger's handlers
    (pytest's caplog also listens on loggers that do not propagate, so it would see more)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


async def test_a_broker_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    infra: Infra, tmp_path: Path
) -> None:
    kafka = localstack.KafkaServer(tmp_path / "kafka")
    await asyncio.to_thread(kafka.start)
    runtime = ServiceRuntime(
        ServiceSettings(
            service_name="outage",
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            mongodb_url=infra.mongodb_url,
            mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        ),
        stream=Stream.PROFILES,
    )

    async def nothing(event: object, envelope: object) -> None:
        return None

    runtime.consumer.add(PairCreated, nothing)
    printed = Printed()
    logging.getLogger().addHandler(printed)
    try:
        await ensure_topics(kafka.bootstrap_servers)
        await runtime.start()
        began = len(printed.lines)
        await asyncio.to_thread(kafka.stop)
        await eventually(
            lambda: any("Kafka is unreachable" in line for line in printed.lines[began:]),
            timeout=30,
            what="the outage line",
        )
        # The client keeps failing meanwhile (reconnects, metadata, fetches, heartbeats), quietly.
        await eventually(lambda: kafka_client_log().hushed > 10, timeout=30, what="client errors")
        await asyncio.to_thread(kafka.start)
        await eventually(
            lambda: any("Kafka is reachable again" in line for line in printed.lines[began:]),
            timeout=60,
            what="the recovery line",
        )
        lines = [line for line in printed.lines[began:] if "Auto create topics" not in line]
        assert len(lines) == 2, "\n".join(lines)
        assert "client errors hushed" in lines[1]
    finally:
        logging.getLogger().removeHandler(printed)
        await runtime.stop()
        await asyncio.to_thread(kafka.stop)
        await drop_database(infra, runtime.db.name)


def _client_warning(message: str) -> logging.LogRecord:
    return logging.LogRecord(
        "aiokafka.consumer.group_coordinator", logging.WARNING, __file__, 1, message, None, None
    )


def test_the_coordinator_settling_after_an_outage_is_not_a_second_outage() -> None:
    """A CI run printed a second "unreachable" line right after "reachable again": the consumer's
    first heartbeat found the coordinator not yet valid. Those warnings are settling, not an outage;
    a failed ping still is."""
    outage = KafkaClientLog()
    outage.state = KafkaState.UP
    outage.unreachable("no answer to a ping")
    outage.reachable()
    outage.emit(_client_warning("Heartbeat failed for group g: coordinator (node 1) is either not started"))
    outage.emit(_client_warning("Marking the coordinator dead (node 1)for group g."))
    assert outage.state is KafkaState.STARTING
    outage.unreachable("no answer to a ping")
    assert outage.state is KafkaState.DOWN
