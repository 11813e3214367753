"""Where tests get their servers, decided once per test session:

1. `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` set: use those running servers;
2. else `MENTORSHIP_TEST_INFRA=containers` and a Docker engine answers: testcontainers
   (Kafka and MongoDB 7 images); skipped with the reason when no engine answers;
3. else (the default, and CI here): Kafka and mongo-java-server (memory backend) from `deploy/local/`,
   started on free ports in a temporary folder and stopped afterwards.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from servicekit.kafka import ensure_topics


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    mongodb_url: str
    origin: str


def _containers(stack: ExitStack) -> Infra:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception as error:
        pytest.skip(f"MENTORSHIP_TEST_INFRA=containers but no Docker engine answers: {error}")
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
    mongo = stack.enter_context(MongoDbContainer("mongo:7"))
    return Infra(kafka.get_bootstrap_server(), mongo.get_connection_url(), "containers")


def _local(stack: ExitStack, state_dir: Path) -> Infra:
    import localstack

    kafka_url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo_url = os.environ.get("MONGODB_URL")
    starters = []
    if not kafka_url:
        kafka = localstack.KafkaServer(state_dir / "kafka")
        stack.callback(kafka.stop)
        starters.append(kafka.start)
        kafka_url = kafka.bootstrap_servers
    if not mongo_url:
        store = localstack.MongoStore(state_dir / "store")
        stack.callback(store.stop)
        starters.append(store.start)
        mongo_url = store.url
    with ThreadPoolExecutor(max_workers=2) as pool:  # start both at once: Kafka is the slow one
        for future in [pool.submit(start) for start in starters]:
            future.result()
    return Infra(kafka_url, mongo_url, "local processes" if starters else "environment")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked `fast` promises to need no server: hold it to that."""
    for item in items:
        if item.get_closest_marker("fast") and "infra" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} is marked fast but uses a server (the infra fixture)")


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    with ExitStack() as stack:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URL"):
            found = Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["MONGODB_URL"], "environment")
        elif os.environ.get("MENTORSHIP_TEST_INFRA") == "containers":
            found = _containers(stack)
        else:
            found = _local(stack, tmp_path_factory.mktemp("infra"))
        asyncio.run(ensure_topics(found.kafka_bootstrap_servers))
        yield found


@pytest.fixture
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        yield client
    finally:
        await client.close()


async def drop_database(infra: Infra, name: str) -> None:
    """Drop a test's database with a client of its own (the service's may be closed already)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()
