"""A service's work behind its handlers (`ServiceRuntime.on_stop`) finishes at stop while the
store is still open: after Kafka has stopped handing out records, before the store's client closes."""

from __future__ import annotations

import asyncio
import uuid

from mentorship_schemas import Stream
from pymongo import AsyncMongoClient
from servicekit.coalesce import Coalescer
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

from tests.conftest import Infra, drop_database


async def test_work_asked_before_stop_is_stored_before_the_store_closes(infra: Infra) -> None:
    runtime = ServiceRuntime(
        ServiceSettings(
            service_name="stopping",
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            mongodb_url=infra.mongodb_url,
            mongodb_database_prefix=f"t{uuid.uuid4().hex[:8]}_",
        ),
        stream=Stream.PROFILES,
    )
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
