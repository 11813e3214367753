"""What the notifications tests share: a producer that puts events on Kafka as other services would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servicekit.kafka import CloudEventPublisher, create_broker

from tests.conftest import Infra


@pytest.fixture
async def publisher(infra: Infra) -> AsyncIterator[CloudEventPublisher]:
    broker = create_broker(infra.kafka_bootstrap_servers, client_id="test-notifications")
    await broker.start()
    try:
        yield CloudEventPublisher(broker)
    finally:
        await broker.stop()
