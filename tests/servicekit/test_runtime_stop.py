"""A service's work behind its handlers (`ServiceRuntime.on_stop`) finishes at stop while the
store is still open: after Kafka has stopped handing out records, before the store's client closes.
And the sweeps' rounds at start can be waited for (`first_sweeps`)."""

from __future__ import annotations

import asyncio
import uuid

from mentorship_schemas import Stream
from pymongo import AsyncMongoClient
from servicekit.coalesce import Coalescer
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from tests.conftest import Infra, drop_database


def _runtime(infra: Infra, name: str) -> ServiceRuntime:
    """A runtime of its own on the suite's servers, in a database of its own."""
    return ServiceRuntime(
        ServiceSettings(
            service_name=name,
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            mongodb_url=infra.mongodb_url,
            mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        ),
        stream=Stream.PROFILES,
    )


async def test_work_asked_before_stop_is_stored_before_the_store_closes(infra: Infra) -> None:
    runtime = _runtime(infra, "stopping")
    coalescer = Coalescer(window=0.2)
    runtime.on_stop(coalescer.close)
    database = runtime.db.name
    await runtime.start()

    async def write_behind() -> None:
        await asyncio.sleep(0.2)  # still due when the stop begins
        await runtime.db["behind"].insert_one({"_id": "done"})

    coalescer.ask("acme", write_behind)
    await runtime.stop()

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(infra.mongodb_url)
    try:
        assert await client[database]["behind"].find_one({"_id": "done"}) == {"_id": "done"}
    finally:
        await client.close()
        await drop_database(infra, database)


async def test_first_sweeps_waits_for_each_sweeps_round_at_start(infra: Infra) -> None:
    runtime = _runtime(infra, "sweeping")
    rounds: list[str] = []

    async def slow(now: object) -> int:
        await asyncio.sleep(0.3)
        rounds.append("slow")
        return 0

    async def failing(now: object) -> int:
        rounds.append("failing")
        raise RuntimeError("a failed round counts as a round")

    runtime.sweep("slow", 3600, slow)
    runtime.sweep("failing", 3600, failing)
    await runtime.start()
    try:
        await asyncio.wait_for(runtime.first_sweeps(), 10)
        assert sorted(rounds) == ["failing", "slow"]
    finally:
        await runtime.stop()
        await drop_database(infra, runtime.db.name)
