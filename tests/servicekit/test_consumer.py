"""The idempotent consumer, retries and the dead-letter topic, against real Kafka and the store."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from mentorship_schemas import CloudEvent, PairCreated, dlq_topic
from pymongo import AsyncMongoClient
from pymongo.errors import ServerSelectionTimeoutError
from servicekit import consumer as consumer_module
from servicekit.consumer import EventConsumer, PermanentError, Record, RetryPolicy
from servicekit.kafka import CloudEventPublisher, create_broker, ensure_topics

from tests.conftest import Infra
from tests.kafka_records import read_topic
from tests.waiting import eventually

TOPIC = PairCreated.topic()


def _pair(org: str, pair_id: str, score: float = 0.5, version: int = 1) -> PairCreated:
    return PairCreated(
        org_id=org,
        version=version,
        pair_id=pair_id,
        program_id="open",
        mentor_id="mentor",
        mentee_id="mentee",
        score=score,
    )


def _envelope(event: PairCreated, event_id: str | None = None) -> CloudEvent:
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source="/mentorship/test",
        type=event.ce_type(),
        subject=event.aggregate_id,
        time=datetime.now(UTC),
        data=event.model_dump(mode="json"),
    )


@pytest.fixture
async def broker(infra: Infra, mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[KafkaBroker]:
    # Depends on `mongo` so the broker stops (and its handlers finish) before the client closes.
    broker = create_broker(infra.kafka_bootstrap_servers, client_id="test-consumer")
    yield broker
    await broker.stop()


@pytest.fixture
def ledger(mongo: AsyncMongoClient[dict[str, Any]]) -> Any:
    return mongo[f"test_consumer_{uuid.uuid4().hex[:8]}"]["processed_events"]


async def test_redelivered_event_changes_nothing(infra: Infra, broker: KafkaBroker, ledger: Any) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    publisher = CloudEventPublisher(broker)
    seen: list[int] = []
    consumer = EventConsumer(group_id=f"test-{org}", ledger=ledger, dead_letter=publisher.dead_letter)

    @consumer.on(PairCreated)
    async def remember(event: PairCreated, envelope: CloudEvent) -> None:
        if event.org_id == org:
            seen.append(event.version)

    consumer.bind(broker)
    await broker.start()
    # One key, so one partition: the records are consumed in the order they were sent.
    repeated = _envelope(_pair(org, "pair-1", version=1))
    await publisher.publish(TOPIC, repeated, {})
    await publisher.publish(TOPIC, repeated, {})  # the same ce_id again: a redelivery
    await publisher.publish(TOPIC, _envelope(_pair(org, "pair-1", version=2)), {})
    await eventually(lambda: 2 in seen, what="the event after the repeat")
    assert seen == [1, 2]
    # The batch's ledger entries are written after its handlers ran: wait for that write.
    recorded = await eventually(
        lambda: ledger.count_documents({"_id": repeated.id}), what="the event in the ledger"
    )
    assert recorded == 1


async def test_streams_share_the_partitions_and_run_each_record_once_in_its_key_order(
    infra: Infra, broker: KafkaBroker, ledger: Any
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    publisher = CloudEventPublisher(broker)
    seen: dict[str, list[int]] = {}
    consumer = EventConsumer(
        group_id=f"test-streams-{org}", ledger=ledger, dead_letter=publisher.dead_letter, streams=2
    )

    @consumer.on(PairCreated)
    async def remember(event: PairCreated, envelope: CloudEvent) -> None:
        if event.org_id == org:
            seen.setdefault(event.pair_id, []).append(event.version)
            await asyncio.sleep(0)  # let the other keys and the other stream interleave

    consumer.bind(broker)
    await broker.start()
    members = [subscriber.consumer for subscriber in broker.subscribers]
    assert len(members) == 2

    def disjoint() -> bool:
        # Until the group's rebalance ends, the first member may still report every partition.
        held = [m.assignment() if m is not None else set() for m in members]
        return all(held) and not held[0] & held[1]

    await eventually(disjoint, what="each partition held by one stream, both streams holding some")
    pairs = [f"pair-{n}" for n in range(24)]  # keys spread over every partition
    for version in range(1, 6):
        for pair_id in pairs:
            await publisher.publish(TOPIC, _envelope(_pair(org, pair_id, version=version)), {})
    await eventually(
        lambda: all(len(seen.get(p, [])) >= 5 for p in pairs), what="every version of every pair"
    )
    assert seen == {pair_id: [1, 2, 3, 4, 5] for pair_id in pairs}


@pytest.mark.parametrize("fetch_wait_ms", [0, 400])
async def test_a_trickle_of_records_comes_in_batches_when_the_broker_may_hold_fetches(
    infra: Infra, broker: KafkaBroker, ledger: Any, fetch_wait_ms: int
) -> None:
    """Records sent one by one, 25 ms apart: answered at the first record, each fetch brings one
    or two (a batch, a ledger query, a commit each); held up to 400 ms, a few fetches bring all."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    publisher = CloudEventPublisher(broker)
    consumer = EventConsumer(
        group_id=f"test-fetch-{org}", ledger=ledger, dead_letter=publisher.dead_letter,
        fetch_wait_ms=fetch_wait_ms, start_from="latest",
    )  # fmt: skip
    batches: list[int] = []
    handle_batch = consumer.handle_batch

    async def counting(records: Any) -> list[str]:
        mine = [r for r in records if org.encode() in r.value]
        if mine:
            batches.append(len(mine))
        return await handle_batch(records)

    consumer.handle_batch = counting  # type: ignore[method-assign]

    @consumer.on(PairCreated)
    async def nothing(event: PairCreated, envelope: CloudEvent) -> None:
        return None

    consumer.bind(broker)
    await broker.start()
    member = broker.subscribers[0].consumer
    await eventually(lambda: member is not None and bool(member.assignment()), what="partitions assigned")
    # "latest" is resolved to an offset on the first fetch: records sent before that would be skipped.
    await asyncio.gather(*(member.position(partition) for partition in member.assignment()))
    for version in range(1, 13):  # one key: one partition, one fetch stream
        await publisher.publish(TOPIC, _envelope(_pair(org, "pair-1", version=version)), {})
        await asyncio.sleep(0.025)
    await eventually(lambda: sum(batches) == 12, what="all twelve records handled")
    if fetch_wait_ms:
        assert len(batches) <= 3, batches
    else:
        assert len(batches) >= 5, batches


async def _async(value: Any) -> Any:
    return value


async def test_malformed_and_schema_invalid_records_go_to_the_dlq_and_the_next_is_processed(
    infra: Infra, broker: KafkaBroker, ledger: Any
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    group = f"test-dlq-{org}"
    publisher = CloudEventPublisher(broker)
    handled: list[str] = []
    consumer = EventConsumer(group_id=group, ledger=ledger, dead_letter=publisher.dead_letter)

    @consumer.on(PairCreated)
    async def remember(event: PairCreated, envelope: CloudEvent) -> None:
        if event.org_id == org:
            handled.append(event.pair_id)

    consumer.bind(broker)
    await broker.start()

    good = _envelope(_pair(org, "pair-good"))
    not_json_id, invalid_id = str(uuid.uuid4()), str(uuid.uuid4())
    headers = {**good.kafka_headers(), "x-origin": "test"}
    await broker.publish(b"{not json", TOPIC, key=b"pair-bad", headers={**headers, "ce_id": not_json_id})
    invalid = {**good.data, "pair_id": "pair-invalid", "score": 7}  # score must be within [0, 1]
    await broker.publish(
        json.dumps(invalid).encode(),
        TOPIC,
        key=b"pair-invalid",
        headers={**headers, "ce_id": invalid_id, "ce_subject": "pair-invalid"},
    )
    await publisher.publish(TOPIC, good, {})

    await eventually(lambda: handled == ["pair-good"], what="the good record after two poison ones")
    dead = await read_topic(
        infra.kafka_bootstrap_servers,
        dlq_topic(TOPIC),
        until=lambda rs: {not_json_id, invalid_id} <= {r.headers.get("ce_id") for r in rs},
    )
    ours = {not_json_id, invalid_id}  # the topic also holds other tests' poison records
    by_id = {
        r.headers["ce_id"]: r
        for r in dead
        if r.headers.get("dlq_consumer_group") == group and r.headers.get("ce_id") in ours
    }
    assert set(by_id) == ours
    assert "not JSON" in by_id[not_json_id].headers["dlq_error"]
    assert by_id[not_json_id].value == b"{not json"
    assert "score" in by_id[invalid_id].headers["dlq_error"]
    for record in by_id.values():
        assert record.headers["dlq_original_topic"] == TOPIC
        assert record.headers["ce_type"] == "mentorship.matching.PairCreated.v1"
        assert record.headers["x-origin"] == "test", "original headers travel with the dead letter"
        assert record.headers["dlq_attempts"] == "1"
    assert await ledger.count_documents({"_id": {"$in": [not_json_id, invalid_id]}}) == 0


class _PairOnItsOwnTopic(PairCreated):
    """PairCreated on a topic of one test's own: the odd records it sends must not reach other
    tests' readers of the shared topic."""

    @classmethod
    def topic(cls) -> str:
        return ODD_TOPIC


ODD_TOPIC = f"test.consumer.odd-headers.{uuid.uuid4().hex[:8]}"


async def test_headers_kafka_allows_but_a_cloudevent_cannot_hold_do_not_stop_the_consumer(
    infra: Infra, broker: KafkaBroker, ledger: Any
) -> None:
    """A null header value and a ce_id that is not UTF-8, then a good record, both waiting when the
    consumer starts (one batch): the odd record is judged (processed under a replaced id, or
    dead-lettered) and the good one is processed. FastStream's parser failed the whole batch."""
    await ensure_topics(infra.kafka_bootstrap_servers, [(ODD_TOPIC, 1), (dlq_topic(ODD_TOPIC), 1)])
    org = f"org-{uuid.uuid4().hex[:8]}"
    publisher = CloudEventPublisher(broker)
    handled: list[str] = []
    consumer = EventConsumer(group_id=f"test-headers-{org}", ledger=ledger, dead_letter=publisher.dead_letter)

    @consumer.on(_PairOnItsOwnTopic)
    async def remember(event: PairCreated, envelope: CloudEvent) -> None:
        handled.append(event.pair_id)

    def pair(pair_id: str) -> CloudEvent:
        return _envelope(_PairOnItsOwnTopic(**_pair(org, pair_id).model_dump()))

    odd, good = pair("pair-odd"), pair("pair-good")
    headers = [(name, value.encode()) for name, value in odd.kafka_headers().items() if name != "ce_id"]
    odd_headers = [*headers, ("ce_id", b"\xff\xfe"), ("x-empty", None)]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            ODD_TOPIC, json.dumps(odd.data).encode(), key=odd.key, headers=odd_headers
        )
        good_headers = [(name, value.encode()) for name, value in good.kafka_headers().items()]
        await producer.send_and_wait(
            ODD_TOPIC, json.dumps(good.data).encode(), key=good.key, headers=good_headers
        )
    finally:
        await producer.stop()
    consumer.bind(broker)
    await broker.start()
    await eventually(lambda: "pair-good" in handled, what="the record after the odd headers")
    assert handled in (["pair-odd", "pair-good"], ["pair-good"])


async def test_transient_failure_is_retried_then_succeeds(broker: KafkaBroker, ledger: Any) -> None:
    await broker.start()
    publisher = CloudEventPublisher(broker)
    consumer = EventConsumer(
        group_id="test-retry",
        ledger=ledger,
        dead_letter=publisher.dead_letter,
        retry=RetryPolicy(max_attempts=3, backoff_seconds=0.01),
    )
    attempts: list[int] = []

    @consumer.on(PairCreated)
    async def flaky(event: PairCreated, envelope: CloudEvent) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("store briefly unreachable")

    envelope = _envelope(_pair("org-retry", "pair-flaky"))
    outcome = await consumer.handle_record(
        topic=TOPIC,
        value=json.dumps(envelope.data).encode(),
        key=envelope.key,
        headers=envelope.kafka_headers(),
    )
    assert outcome == "processed"
    assert len(attempts) == 3
    assert await ledger.count_documents({"_id": envelope.id}) == 1


@pytest.mark.parametrize(
    ("failure", "expected_attempts"), [(RuntimeError("bug"), "3"), (PermanentError("never"), "1")]
)
async def test_failing_handler_dead_letters_after_bounded_attempts(
    infra: Infra, broker: KafkaBroker, ledger: Any, failure: Exception, expected_attempts: str
) -> None:
    await broker.start()
    publisher = CloudEventPublisher(broker)
    group = f"test-giveup-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        group_id=group,
        ledger=ledger,
        dead_letter=publisher.dead_letter,
        retry=RetryPolicy(max_attempts=3, backoff_seconds=0.01),
    )

    @consumer.on(PairCreated)
    async def broken(event: PairCreated, envelope: CloudEvent) -> None:
        raise failure

    envelope = _envelope(_pair("org-giveup", "pair-broken"))
    outcome = await consumer.handle_record(
        topic=TOPIC,
        value=json.dumps(envelope.data).encode(),
        key=envelope.key,
        headers=envelope.kafka_headers(),
    )
    assert outcome == "dead_lettered"
    dead = await read_topic(
        infra.kafka_bootstrap_servers,
        dlq_topic(TOPIC),
        until=lambda rs: any(r.headers.get("ce_id") == envelope.id for r in rs),
    )
    record = next(r for r in dead if r.headers.get("ce_id") == envelope.id)
    assert record.headers["dlq_consumer_group"] == group
    assert record.headers["dlq_attempts"] == expected_attempts
    assert record.headers["dlq_error"] == str(failure)
    assert await ledger.count_documents({"_id": envelope.id}) == 0


async def test_unknown_event_type_is_ignored_not_dead_lettered(broker: KafkaBroker, ledger: Any) -> None:
    publisher = CloudEventPublisher(broker)
    consumer = EventConsumer(group_id="test-unknown", ledger=ledger, dead_letter=publisher.dead_letter)
    consumer.add(PairCreated, lambda e, env: _async(None))
    outcome = await consumer.handle_record(
        topic=TOPIC,
        value=b"{}",
        key=b"k",
        headers={"ce_type": "mentorship.matching.SomethingNewer.v1", "ce_id": "x"},
    )
    assert outcome == "ignored"


def _record(envelope: CloudEvent, partition: int = 0) -> Record:
    return Record(
        topic=TOPIC,
        value=json.dumps(envelope.data).encode(),
        key=envelope.key,
        headers=envelope.kafka_headers(),
        partition=partition,
    )


async def test_a_batch_keeps_each_aggregates_order_and_runs_different_aggregates_concurrently(
    ledger: Any,
) -> None:
    consumer = EventConsumer(group_id="test-batch-order", ledger=ledger, dead_letter=_no_dead_letters)
    seen: dict[str, list[int]] = {}
    running = 0
    most_at_once = 0

    @consumer.on(PairCreated)
    async def record_order(event: PairCreated, envelope: CloudEvent) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(0.01)  # a store round trip: lets other aggregates run meanwhile
        seen.setdefault(event.pair_id, []).append(event.version)
        running -= 1

    records = [
        _record(_envelope(_pair("org-batch", f"pair-{pair}", version=version)))
        for version in range(1, 6)
        for pair in range(8)
    ]
    outcomes = await consumer.handle_batch(records)
    assert outcomes == ["processed"] * len(records)
    assert seen == {f"pair-{pair}": [1, 2, 3, 4, 5] for pair in range(8)}
    assert most_at_once > 1, "different aggregates should not wait for each other"
    assert await ledger.count_documents({}) == len(records)


async def test_a_large_batch_runs_in_lanes_started_one_after_another_each_key_in_order(
    ledger: Any,
) -> None:
    consumer = EventConsumer(
        group_id="test-batch-lanes", ledger=ledger, dead_letter=_no_dead_letters, lanes=2
    )
    turns = 0  # turns of the event loop, counted by a task that yields at every turn
    steps: list[tuple[str, str, int, int]] = []

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    @consumer.on(PairCreated)
    async def record_steps(event: PairCreated, envelope: CloudEvent) -> None:
        steps.append(("start", event.pair_id, event.version, turns))
        await asyncio.sleep(0.01)  # a store round trip
        steps.append(("done", event.pair_id, event.version, turns))

    async def first_starts(records: list[Record]) -> list[tuple[str, int]]:
        """Each key's first record: (key, the turn it started in), in the order they started."""
        steps.clear()
        assert await consumer.handle_batch(records) == ["processed"] * len(records)
        return [(pair_id, turn) for step, pair_id, version, turn in steps if step == "start" and version == 1]

    counter = asyncio.create_task(count_turns())
    try:
        pairs = [f"pair-{pair:03d}" for pair in range(120)]
        records = [
            _record(_envelope(_pair("org-lanes", pair_id, version=version)))
            for version in (1, 2)
            for pair_id in pairs
        ]
        started = await first_starts(records)
        # Two lanes of 60 keys: the second starts a turn after the first, while the first waits
        # on its round trip (nothing is done before both have started).
        assert [pair_id for pair_id, _ in started] == pairs
        first_lane, second_lane = {turn for _, turn in started[:60]}, {turn for _, turn in started[60:]}
        assert len(first_lane) == 1
        assert len(second_lane) == 1
        assert min(second_lane) > max(first_lane)
        assert [step for step, *_ in steps[:120]] == ["start"] * 120
        # Each key's records ran once each, in their order.
        for pair_id in pairs:
            assert [(step, v) for step, p, v, _ in steps if p == pair_id] == [
                ("start", 1), ("done", 1), ("start", 2), ("done", 2)
            ]  # fmt: skip
        assert await ledger.count_documents({}) == len(records)

        # Fewer keys than two lanes' worth are one lane: they all start in one turn.
        small = [_record(_envelope(_pair("org-lanes-small", f"pair-{pair}"))) for pair in range(80)]
        assert len({turn for _, turn in await first_starts(small)}) == 1
    finally:
        counter.cancel()


async def test_a_repeated_event_in_one_batch_and_a_replayed_batch_take_effect_once(ledger: Any) -> None:
    consumer = EventConsumer(group_id="test-batch-repeat", ledger=ledger, dead_letter=_no_dead_letters)
    effects: list[str] = []

    @consumer.on(PairCreated)
    async def count(event: PairCreated, envelope: CloudEvent) -> None:
        effects.append(envelope.id)

    first = _envelope(_pair("org-repeat", "pair-a"))
    second = _envelope(_pair("org-repeat", "pair-b"))
    batch = [_record(first), _record(second), _record(first)]
    assert await consumer.handle_batch(batch) == ["processed", "processed", "duplicate"]
    assert await consumer.handle_batch(batch) == ["duplicate"] * 3
    assert sorted(effects) == sorted([first.id, second.id])


@pytest.mark.parametrize(
    "value",
    [
        b'{"org_id": "acme", "n": 123456789012345678901234567890, "x": -0.0, "y": [1, {"z": null}]}',
        b'\xef\xbb\xbf{"a": 1}',  # a byte order mark
        b'{"a": "\\ud800"}',  # a lone surrogate
        b'{"a": 1, "a": 2}',
    ],
    ids=["values", "byte order mark", "lone surrogate", "repeated key"],
)
def test_a_value_is_parsed_as_the_json_module_parses_it(value: bytes) -> None:
    assert consumer_module._json_value(value) == json.loads(value)


def _refusal(parse: Any, value: bytes) -> BaseException | None:
    try:
        parse(value)
    except ValueError as error:
        return error
    return None


@pytest.mark.parametrize("value", [b"{not json", b"\xff\xfe", b'{"a": 1}{', b"\xc3\x28"])
def test_a_value_the_json_module_refuses_is_refused_with_its_error(value: bytes) -> None:
    expected = _refusal(json.loads, value)
    assert expected is not None
    refused = _refusal(consumer_module._json_value, value)
    assert (type(refused), str(refused)) == (type(expected), str(expected))


async def test_a_bad_record_is_dead_lettered_once_and_the_rest_of_its_batch_is_processed(
    ledger: Any,
) -> None:
    dead: list[dict[str, str]] = []

    async def dead_letter(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        dead.append(headers)

    consumer = EventConsumer(group_id="test-batch-bad", ledger=ledger, dead_letter=dead_letter)
    handled: list[str] = []

    @consumer.on(PairCreated)
    async def keep(event: PairCreated, envelope: CloudEvent) -> None:
        handled.append(event.pair_id)

    good = _envelope(_pair("org-bad", "pair-good"))
    broken = _record(_envelope(_pair("org-bad", "pair-broken")))
    broken = Record(broken.topic, b"{not json", broken.key, broken.headers, partition=0, offset=41)
    batch = [broken, _record(good)]
    assert await consumer.handle_batch(batch) == ["dead_lettered", "processed"]
    assert handled == ["pair-good"]
    assert dead[0]["dlq_error"].startswith("value is not JSON")
    # The batch is read again (the instance died before committing): nothing happens twice.
    assert await consumer.handle_batch(batch) == ["duplicate", "duplicate"]
    assert len(dead) == 1
    assert handled == ["pair-good"]


async def _no_dead_letters(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
    raise AssertionError(f"nothing should be dead-lettered: {headers.get('dlq_error')}")


async def test_a_record_meeting_a_store_outage_waits_for_the_store_instead_of_being_dead_lettered(
    ledger: Any,
) -> None:
    consumer = EventConsumer(
        group_id="test-store-outage",
        ledger=ledger,
        dead_letter=_no_dead_letters,
        retry=RetryPolicy(max_attempts=2, backoff_seconds=0.01, backoff_max_seconds=0.01),
    )
    calls = 0

    @consumer.on(PairCreated)
    async def store_down_for_a_while(event: PairCreated, envelope: CloudEvent) -> None:
        nonlocal calls
        calls += 1
        if calls <= 5:  # more outage than max_attempts would allow for a failing handler
            raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    (outcome,) = await consumer.handle_batch([_record(_envelope(_pair("org-outage", "pair-wait")))])
    assert outcome == "processed"
    assert calls == 6
