"""The Kafka handlers are thin: each consumed event type has one, registered from one table, and
each turns the event and its envelope into one use case (here on in-memory stores, no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mentorship_schemas import (
    CloudEvent,
    Event,
    GoalAchieved,
    PairCreated,
    ProfileErased,
    SessionCancelled,
    SessionScheduled,
)
from notifications import handlers
from notifications.domain.notification import DeliveryStatus
from notifications.domain.recipient import recipient_id
from servicekit.consumer import Handler

from tests.kafka_records import cloud_event
from tests.notifications.memory import EMAIL, START, world

pytestmark = pytest.mark.fast


class RecordingConsumer:
    """Stands in for servicekit's EventConsumer at registration: keeps the routes."""

    def __init__(self) -> None:
        self.routes: dict[type[Event], Handler] = {}

    def add(self, event_type: type[Event], handler: Handler) -> None:
        assert event_type not in self.routes, f"{event_type.__name__} registered twice"
        self.routes[event_type] = handler


def test_every_consumed_event_type_has_exactly_one_handler() -> None:
    consumer = RecordingConsumer()
    handlers.register(consumer, world().use_cases)  # type: ignore[arg-type]
    assert set(consumer.routes) == {event_type for event_type, _ in handlers.HANDLERS}
    assert len(consumer.routes) == 19
    names = [handler.__name__ for _, handler in handlers.HANDLERS]
    assert len(set(names)) == len(names), "one function per event type"


async def test_a_registered_handler_tells_people_with_the_envelope_as_the_cause() -> None:
    w = world()
    consumer = RecordingConsumer()
    handlers.register(consumer, w.use_cases)  # type: ignore[arg-type]
    await w.register("ada", "Ada Lovelace")
    pair = PairCreated(
        org_id=w.org,
        version=1,
        pair_id="p1",
        program_id="open",
        mentor_id="grace",
        mentee_id="ada",
        score=0.8,
    )
    envelope = cloud_event(pair, "matching")
    await consumer.routes[PairCreated](pair, envelope)
    created = await w.one("ada", "pair_created")
    assert (created.cause_event_id, created.cause_type) == (envelope.id, PairCreated.ce_type())
    goal = GoalAchieved(
        org_id=w.org, version=5, pair_id="p1", goal_id="g1", title="Ship it", participant_ids=["ada", "grace"]
    )
    await consumer.routes[GoalAchieved](goal, cloud_event(goal, "sessions"))
    assert (await w.one("grace", "goal_achieved")).title == "Goal achieved: Ship it"


async def test_session_handlers_schedule_then_withdraw_the_reminders() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace")
    starts = START + timedelta(days=3)
    scheduled = SessionScheduled(
        org_id=w.org,
        version=1,
        session_id="s1",
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )
    await handlers.on_session_scheduled(scheduled, _envelope(scheduled), w.use_cases)
    reminder = await w.one("ada", "session_reminder")
    assert reminder.deliveries[EMAIL].status is DeliveryStatus.SCHEDULED
    cancelled = SessionCancelled(
        org_id=w.org,
        version=2,
        session_id="s1",
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=starts,
        cancelled_by="grace",
    )
    await handlers.on_session_cancelled(cancelled, _envelope(cancelled), w.use_cases)
    assert (await w.one("ada", "session_reminder")).deliveries[EMAIL].status is DeliveryStatus.SKIPPED


async def test_the_erasure_handler_forgets_the_person() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace")
    erased = ProfileErased(org_id=w.org, version=2, person_id="ada", erased_at=START)
    await handlers.on_profile_erased(erased, _envelope(erased), w.use_cases)
    tombstone = await w.recipients.get(recipient_id(w.org, "ada"))
    assert tombstone is not None
    assert tombstone.erased


def _envelope(event: Event) -> CloudEvent:
    return CloudEvent(
        id=f"{type(event).__name__}-{event.version}",
        source="/mentorship/test",
        type=event.ce_type(),
        subject=event.aggregate_id,
        time=datetime(2026, 11, 26, tzinfo=UTC),
        data=event.model_dump(mode="json"),
    )
