"""Exactly one notification per (recipient, cause event, kind) through real Kafka: every event is
delivered twice, a poison record sits in the middle, and the service is stopped mid-batch and a
new instance takes over."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from mentorship_schemas import NotificationSent, PairCreated, ProfileRegistered, dlq_topic
from mentorship_schemas.events import PersonRole
from notifications.app import NotificationsSettings, build_service
from notifications.domain.messages import Message
from notifications.domain.notification import Cause
from servicekit.kafka import CloudEventPublisher

from tests.conftest import Infra
from tests.kafka_records import cloud_event, read_topic
from tests.waiting import eventually

PAIRS = 30
CRASH_AFTER = 2 * (PAIRS // 3) + 1  # an odd number: one of a pair's two notifications


async def test_redelivery_and_a_restart_mid_batch_yield_exactly_one_notification_each(
    infra: Infra, publisher: CloudEventPublisher
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    settings = NotificationsSettings(
        service_name=f"notifications_x{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        mongodb_database_prefix="test_",
        outbox_poll_seconds=0.2,
        delivery_sweep_every_seconds=0.2,
    )
    people = [f"p{n}" for n in range(2 * PAIRS)]
    for person in people:
        profile = ProfileRegistered(
            org_id=org,
            version=1,
            person_id=person,
            roles=[PersonRole.MENTEE],
            display_name=person.upper(),
            email=f"{person}@example.com",
        )
        await publisher.publish(profile.topic(), cloud_event(profile), {})
    pair_events = []
    for n in range(PAIRS):
        pair = PairCreated(
            org_id=org,
            version=1,
            pair_id=f"pair-{n}",
            program_id="open",
            mentor_id=f"p{2 * n}",
            mentee_id=f"p{2 * n + 1}",
            score=0.5,
        )
        envelope = cloud_event(pair)
        pair_events.append(envelope)
        await publisher.publish(pair.topic(), envelope, {})
        await publisher.publish(pair.topic(), envelope, {})  # the same event again: a redelivery
        if n == PAIRS // 2:
            await publisher._broker.publish(  # a poison record mid-batch
                b"{not json",
                pair.topic(),
                key=b"pair-poison",
                headers={**envelope.kafka_headers(), "ce_id": f"poison-{org}", "ce_subject": "pair-poison"},
            )

    # The first instance dies in the middle of a PairCreated: after the mentee's notification is
    # stored and before the mentor's, with the offset not committed.
    first_service = build_service(settings)
    first = first_service.runtime
    # The notifications whose storing has begun. A rebalance between the instance's two consumers
    # may hand a record to both (at-least-once): its notifications are stored once, counted once.
    begun: set[tuple[str, str, str]] = set()
    crashed = asyncio.Event()
    notify = first_service.use_cases.notify
    store_message = notify.store_message

    async def crashing_store_message(org_id: str, cause: Cause, message: Message, *args: Any) -> bool:
        if org_id != org:  # other tests' events on the shared topics: not part of this batch
            return await store_message(org_id, cause, message, *args)
        key = (cause.key, message.recipient_id, message.kind)
        if key not in begun and len(begun) == CRASH_AFTER:
            crashed.set()
            await asyncio.sleep(3600)  # hangs until the instance is stopped
        begun.add(key)
        return await store_message(org_id, cause, message, *args)

    notify.store_message = crashing_store_message  # type: ignore[method-assign]
    await first.start()
    try:
        await asyncio.wait_for(crashed.wait(), timeout=60)
    finally:
        await first.stop()
    stopped_at = await _count(infra, settings, org)
    assert stopped_at == CRASH_AFTER

    second = build_service(settings).runtime
    await second.start()
    try:
        expected = 2 * PAIRS
        await eventually(
            lambda: _count(infra, settings, org, equals=expected),
            timeout=90,
            what=f"{expected} notifications",
        )
        records = await read_topic(
            infra.kafka_bootstrap_servers,
            NotificationSent.topic(),
            until=lambda rs: len(_sent_for(rs, org)) >= expected,
            timeout=60,
        )
    finally:
        await second.stop()

    sent = _sent_for(records, org)
    assert len({data["notification_id"] for data in sent.values()}) == expected
    assert len(sent) == expected, "one NotificationSent id per notification"
    triples = {(d["recipient_id"], d["cause_event_id"], d["kind"]) for d in sent.values()}
    assert len(triples) == expected
    assert {d["cause_event_id"] for d in sent.values()} == {e.id for e in pair_events}
    assert await _count(infra, settings, org) == expected, "nothing was created twice"
    dead = await read_topic(
        infra.kafka_bootstrap_servers,
        dlq_topic(PairCreated.topic()),
        until=lambda rs: any(r.headers.get("ce_id") == f"poison-{org}" for r in rs),
    )
    [poison] = [r for r in dead if r.headers.get("ce_id") == f"poison-{org}"]
    assert poison.headers["dlq_consumer_group"] == settings.consumer_group
    print(f"\ncrashed after {stopped_at} of {expected} notifications; the second instance made the rest")


def _sent_for(records: list[Any], org: str) -> dict[str, dict[str, Any]]:
    """NotificationSent data by event id (a republished event counts once)."""
    return {
        r.headers["ce_id"]: data
        for r in records
        if r.headers.get("ce_type") == NotificationSent.ce_type()
        and (data := json.loads(r.value)).get("org_id") == org
    }


async def _count(infra: Infra, settings: NotificationsSettings, org: str, equals: int | None = None) -> Any:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    try:
        count = await client[settings.database_name]["notifications"].count_documents({"org_id": org})
    finally:
        await client.close()
    return count == equals if equals is not None else count
