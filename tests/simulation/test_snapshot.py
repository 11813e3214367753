"""The simulation's final snapshot against a real broker: the platform's clock runs on while it is
taken, so an event published while the stores are read (a sweep's SessionMissed) must not be in
the records unless the stores are read again after it (its notifications would be missing)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from mentorship_schemas import SessionMissed

from simulation import run
from simulation.observe import LagProbe
from tests.conftest import Infra


async def _publish(bootstrap: str, event_id: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        headers = [("ce_id", event_id.encode()), ("ce_type", b"com.example.mentorship.SessionMissed.v1")]
        await producer.send_and_wait(SessionMissed.topic(), b'{"session_id": "s-1"}', headers=headers)
    finally:
        await producer.stop()


def _platform(infra: Infra) -> Any:
    """What `take_snapshot` reads of a platform: the suite's servers."""
    return SimpleNamespace(
        store=SimpleNamespace(url=infra.mongodb_url),
        kafka=SimpleNamespace(bootstrap_servers=infra.kafka_bootstrap_servers),
    )


async def test_an_event_published_while_the_stores_are_read_makes_the_snapshot_read_them_again(
    infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap = infra.kafka_bootstrap_servers
    during_first, after = f"during-{uuid.uuid4()}", f"after-{uuid.uuid4()}"
    reads: list[int] = []

    async def read_stores(url: str, prefix: str) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
        reads.append(len(reads) + 1)
        if len(reads) == 1:
            await _publish(bootstrap, during_first)  # as a sweep would, mid-read
        return {"sessions.sessions": [{"_id": f"read {len(reads)}"}]}, {}

    read_topics = run.read_topics

    async def late_read_topics(*args: Any, **kwargs: Any) -> Any:
        await _publish(bootstrap, after)  # after the stores' last reading: its effects are not in them
        return await read_topics(*args, **kwargs)

    monkeypatch.setattr(run, "read_stores", read_stores)
    monkeypatch.setattr(run, "read_topics", late_read_topics)
    probe = LagProbe(bootstrap, {})
    try:
        snapshot = await run.take_snapshot(_platform(infra), probe)
    finally:
        await probe.close()

    assert reads == [1, 2]
    assert snapshot.collection("sessions", "sessions") == [{"_id": "read 2"}]
    ids = {record.event_id for record in snapshot.records}
    assert during_first in ids  # published before the second reading of the stores
    assert after not in ids


async def test_a_quiet_platform_is_read_once(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []

    async def read_stores(url: str, prefix: str) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
        reads.append(prefix)
        return {}, {}

    monkeypatch.setattr(run, "read_stores", read_stores)
    probe = LagProbe(infra.kafka_bootstrap_servers, {})
    try:
        snapshot = await run.take_snapshot(_platform(infra), probe)
    finally:
        await probe.close()
    assert reads == [run.DATABASE_PREFIX]
    assert snapshot.lag == {}
