"""Matching's handlers one by one, on in-memory stores: each is a module-level function typed for
the event it handles, and turns the event into its use case."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from matching import handlers
from matching.domain.candidate import ERASED
from matching.domain.mentor import mentor_key
from matching.domain.seat import SeatStatus
from mentorship_schemas import (
    MentorAvailable,
    PairCreated,
    ProfileErased,
    ProfileRegistered,
    RelationshipRecovered,
    RelationshipStagnant,
)
from mentorship_schemas.events import PersonRole, Severity

from tests.kafka_records import cloud_event
from tests.matching.fakes import InMemoryMatching

pytestmark = pytest.mark.fast
ORG = "acme"


def test_each_consumed_event_type_has_one_module_level_handler_typed_for_it() -> None:
    types = [event_type for event_type, _ in handlers.HANDLERS + handlers.PUBLISHED]
    assert len(types) == len(set(types))
    for event_type, handler in handlers.HANDLERS + handlers.PUBLISHED:
        assert inspect.getmodule(handler) is handlers
        assert inspect.signature(handler, eval_str=True).parameters["event"].annotation is event_type


def _registered(person: str, role: PersonRole, **facts: object) -> ProfileRegistered:
    return ProfileRegistered(
        org_id=ORG, version=1, person_id=person, roles=[role], display_name=person.title(),
        email=f"{person}@example.com", languages=["en"], **facts,
    )  # fmt: skip


async def test_profile_events_make_candidates_and_a_mentor_available_is_matched_at_once() -> None:
    mem = InMemoryMatching.new()
    ada = _registered("ada", PersonRole.MENTEE, skills_wanted=["python"])
    grace = _registered("grace", PersonRole.MENTOR, skills_offered=["python"])
    for event in (ada, grace):
        await handlers.on_profile_registered(mem.context, event, cloud_event(event, "profiles"))
    assert mem.published(PairCreated) == [], "grace takes no mentees yet"
    available = MentorAvailable(org_id=ORG, version=1, person_id="grace", capacity=2, active_mentees=0)
    await handlers.on_mentor_available(mem.context, available, cloud_event(available, "profiles"))
    (created,) = mem.published(PairCreated)
    assert (created.mentee_id, created.mentor_id) == ("ada", "grace")
    assert (await mem.mentor(ORG, "grace")).free_slots == 1

    stagnant = RelationshipStagnant(
        org_id=ORG, version=1, pair_id=created.pair_id, episode_id="e1", participant_ids=["ada", "grace"],
        reasons=["quiet"], severity=Severity.HIGH,
    )  # fmt: skip
    envelope = cloud_event(stagnant, "sessions")
    await handlers.on_relationship_stagnant(mem.context, stagnant, envelope)
    seat = await mem.seat(ORG, "ada")
    assert seat.pair is not None
    assert seat.pair.stagnation is not None
    assert (seat.pair.stagnation.severity, seat.pair.stagnation.since) == ("high", envelope.time)
    recovered = RelationshipRecovered(
        org_id=ORG, version=2, pair_id=created.pair_id, episode_id="e1", participant_ids=["ada", "grace"]
    )
    await handlers.on_relationship_recovered(mem.context, recovered, cloud_event(recovered, "sessions"))
    assert (await mem.seat(ORG, "ada")).pair.stagnation is None  # type: ignore[union-attr]

    erased = ProfileErased(org_id=ORG, version=3, person_id="ada", erased_at=datetime(2026, 3, 3, tzinfo=UTC))
    await handlers.on_profile_erased(mem.context, erased, cloud_event(erased, "profiles"))
    seat = await mem.seat(ORG, "ada")
    assert (seat.person_id, seat.status, seat.skills_wanted) == (ERASED, SeatStatus.ERASED, ())


async def test_a_registration_makes_its_records_without_reading_first_and_a_repeat_changes_nothing() -> None:
    """A first profile's records exist only if this registration was handled already: they are
    written without a read that would find nothing, and read only when the write finds them."""
    mem = InMemoryMatching.new()
    reads: list[str] = []
    seats_of, change_mentor = mem.context.reads.seats_of, mem.mentors.change

    async def counted_seats_of(org_id: str, person_id: str) -> object:
        reads.append(f"seats of {person_id}")
        return await seats_of(org_id, person_id)

    async def counted_change(aggregate_id: str, change: object, **options: object) -> object:
        reads.append(aggregate_id)
        return await change_mentor(aggregate_id, change, **options)  # type: ignore[arg-type]

    mem.context.reads.seats_of = counted_seats_of  # type: ignore[method-assign]
    mem.mentors.change = counted_change  # type: ignore[method-assign]
    ada = _registered("ada", PersonRole.MENTEE, skills_wanted=["python"])
    grace = _registered("grace", PersonRole.MENTOR, skills_offered=["python"])
    for event in (ada, grace):
        await handlers.on_profile_registered(mem.context, event, cloud_event(event, "profiles"))
    assert reads == []
    seat, mentor = await mem.seat(ORG, "ada"), await mem.mentor(ORG, "grace")
    assert (seat.status, seat.skills_wanted) == (SeatStatus.WAITING, ("python",))
    assert (mentor.skills_offered, mentor.profile_version) == (("python",), 1)

    # Redelivered: the write finds the records, which are read and left as they are.
    for event in (ada, grace):
        await handlers.on_profile_registered(mem.context, event, cloud_event(event, "profiles"))
    assert reads == ["seats of ada", mentor_key(ORG, "grace")]
    assert (await mem.seat(ORG, "ada")).version == seat.version
    assert (await mem.mentor(ORG, "grace")).version == mentor.version
