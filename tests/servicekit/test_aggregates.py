"""The aggregate store: typed load, a domain change, and one conditional write with the outbox;
the same contract in memory (for use-case tests) and on the real store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

import pytest
from mentorship_schemas import Event, MentorAvailable, PairCreated, Stream
from pymongo import AsyncMongoClient
from servicekit.aggregates import (
    AggregateRoot,
    Aggregates,
    AggregateStore,
    Emitted,
    InMemoryAggregates,
    same_as_stored,
)


class Availability(StrEnum):
    OPEN = "open"
    FULL = "full"


class Mentor(AggregateRoot):
    """A small aggregate with a status enum and a rule that returns its events."""

    capacity: int
    active: int = 0
    status: Availability = Availability.OPEN

    def take_mentee(self) -> list[Emitted]:
        if self.status is Availability.FULL:
            raise ValueError("no free place")
        self.active += 1
        if self.active == self.capacity:
            self.status = Availability.FULL
        event = MentorAvailable(
            org_id=self.org_id,
            version=self.version + 1,
            person_id=self.id,
            capacity=self.capacity,
            active_mentees=self.active,
        )
        return [Emitted(event, f"{self.id}:{self.active}")]


class RecordingOutbox:
    source = "/mentorship/test"

    def __init__(self) -> None:
        self.woken: list[tuple[str, Any]] = []
        self.handed: dict[Any, list[Any]] = {}  # what writes handed over, by document (the last)

    def now(self) -> datetime:
        return datetime(2026, 3, 1, tzinfo=UTC)

    def check_publishes(self, event: Event) -> None:
        if event.stream is not Stream.PROFILES:
            raise TypeError(f"not ours: {event.ce_type()}")

    def events_written(self, collection: str, aggregate_id: Any, entries: list[Any] | None = None) -> None:
        self.woken.append((collection, aggregate_id))
        if entries is not None:
            self.handed[aggregate_id] = entries
        else:
            self.handed.pop(aggregate_id, None)


@pytest.fixture(params=["memory", "store"])
async def mentors(
    request: pytest.FixtureRequest, mongo: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[Aggregates[Mentor]]:
    if request.param == "memory":
        yield InMemoryAggregates(Mentor)
        return
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    try:
        yield AggregateStore(database["mentors"], Mentor, RecordingOutbox())
    finally:
        await mongo.drop_database(database.name)


async def test_a_change_saves_the_new_state_its_version_and_its_events_in_one_write(
    mentors: Aggregates[Mentor],
) -> None:
    assert await mentors.create(Mentor(id="mira", org_id="acme", capacity=2))
    saved = await mentors.change("mira", lambda mentor: mentor.take_mentee())
    assert saved is not None
    assert saved.aggregate.version == 1
    assert [e.event_id for e in saved.emitted] == ["mira:1"]
    stored = await mentors.get("mira")
    assert stored is not None
    assert (stored.active, stored.status, stored.version) == (1, Availability.OPEN, 1)
    if isinstance(mentors, AggregateStore):
        document = await mentors.collection.find_one({"_id": "mira"})
        assert document is not None
        assert document["status"] == "open"
        assert [entry["id"] for entry in document["outbox"]] == ["mira:1"]
        assert document["outbox_pending"] is True


async def test_a_rule_that_refuses_writes_nothing(mentors: Aggregates[Mentor]) -> None:
    await mentors.create(Mentor(id="sam", org_id="acme", capacity=1))
    await mentors.change("sam", lambda mentor: mentor.take_mentee())
    with pytest.raises(ValueError, match="no free place"):
        await mentors.change("sam", lambda mentor: mentor.take_mentee())
    stored = await mentors.get("sam")
    assert stored is not None
    assert (stored.active, stored.status, stored.version) == (1, Availability.FULL, 1)


async def test_another_org_and_an_unknown_id_see_nothing(mentors: Aggregates[Mentor]) -> None:
    await mentors.create(Mentor(id="ada", org_id="acme", capacity=1))
    assert await mentors.get("ada", org_id="other") is None
    assert await mentors.change("ada", lambda mentor: mentor.take_mentee(), org_id="other") is None
    assert await mentors.change("nobody", lambda mentor: mentor.take_mentee()) is None
    assert not await mentors.create(Mentor(id="ada", org_id="acme", capacity=9)), "ids are unique"


async def test_concurrent_changes_are_retried_so_none_is_lost(mentors: Aggregates[Mentor]) -> None:
    await mentors.create(Mentor(id="lea", org_id="acme", capacity=20))
    saved = await asyncio.gather(*(mentors.change("lea", lambda m: m.take_mentee()) for _ in range(20)))
    stored = await mentors.get("lea")
    assert stored is not None
    assert (stored.active, stored.version, stored.status) == (20, 20, Availability.FULL)
    emitted_ids = sorted(s.emitted[0].event_id for s in saved if s is not None)
    assert emitted_ids == sorted(f"lea:{n}" for n in range(1, 21))


async def test_before_write_sees_the_changed_aggregate_before_it_is_stored_and_not_on_refusal(
    mentors: Aggregates[Mentor],
) -> None:
    seen: list[tuple[int, int | None]] = []

    async def before_write(mentor: Mentor) -> None:
        stored = await mentors.get(mentor.id)
        seen.append((mentor.active, stored.active if stored else None))

    assert await mentors.create(Mentor(id="ines", org_id="acme", capacity=1), before_write=before_write)
    await mentors.change("ines", lambda mentor: mentor.take_mentee(), before_write=before_write)
    with pytest.raises(ValueError, match="no free place"):
        await mentors.change("ines", lambda mentor: mentor.take_mentee(), before_write=before_write)
    assert seen == [(0, None), (1, 0)]


async def test_the_store_refuses_an_event_of_another_stream_and_wakes_the_relay_by_id(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    outbox = RecordingOutbox()
    store = AggregateStore(database["mentors"], Mentor, outbox)
    try:
        await store.create(Mentor(id="kim", org_id="acme", capacity=5))
        foreign = PairCreated(
            org_id="acme", version=1, pair_id="p", mentor_id="kim", mentee_id="x", program_id="open", score=1
        )
        with pytest.raises(TypeError, match="not ours"):
            await store.change("kim", lambda mentor: [Emitted(foreign, "p")])
        await store.change("kim", lambda mentor: mentor.take_mentee())
        assert outbox.woken == [("mentors", "kim")]
        document = await database["mentors"].find_one({"_id": "kim"})
        assert document is not None
        assert document["version"] == 1
        # This store wrote the document last: its outbox holds nothing the relay was not named.
        assert outbox.handed["kim"] == document["outbox"]

        # Another writer's event waits in the outbox of a document this store reads: a change
        # does not know whether the relay was named it, and hands nothing over.
        other = AggregateStore(database["mentors"], Mentor, RecordingOutbox())
        await other.change("kim", lambda mentor: mentor.take_mentee())
        await store.change("kim", lambda mentor: mentor.take_mentee())  # its copy is behind: it reads
        assert outbox.woken[-1] == ("mentors", "kim")
        assert "kim" not in outbox.handed
        document = await database["mentors"].find_one({"_id": "kim"})
        assert document is not None
        assert (document["version"], len(document["outbox"])) == (3, 3)

        # A document read with an empty outbox (its events sent): the change hands its own over.
        sent = {"$set": {"outbox": [], "outbox_pending": False}}
        await database["mentors"].update_one({"_id": "kim"}, sent)
        fresh = AggregateStore(database["mentors"], Mentor, outbox)
        await fresh.change("kim", lambda mentor: mentor.take_mentee())
        document = await database["mentors"].find_one({"_id": "kim"})
        assert document is not None
        assert outbox.handed["kim"] == document["outbox"]

        # A create knows: its document's outbox is exactly the events it inserted.
        lee = Mentor(id="lee", org_id="acme", capacity=1)
        await store.create(lee, lee.take_mentee())
        inserted = await database["mentors"].find_one({"_id": "lee"})
        assert inserted is not None
        assert outbox.woken[-1] == ("mentors", "lee")
        assert outbox.handed["lee"] == inserted["outbox"]
    finally:
        await mongo.drop_database(database.name)


async def test_a_document_stored_before_it_had_a_version_can_be_changed(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    store = AggregateStore(database["mentors"], Mentor, RecordingOutbox())
    try:
        await database["mentors"].insert_one({"_id": "old", "org_id": "acme", "capacity": 2})
        saved = await store.change("old", lambda mentor: mentor.take_mentee())
        assert saved is not None
        assert saved.aggregate.version == 1
        stored = await database["mentors"].find_one({"_id": "old"})
        assert stored is not None
        assert (stored["version"], stored["active"]) == (1, 1)
    finally:
        await mongo.drop_database(database.name)


async def test_a_change_by_another_replica_is_never_lost_when_this_one_kept_the_document(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    here = AggregateStore(database["mentors"], Mentor, RecordingOutbox())
    there = AggregateStore(database["mentors"], Mentor, RecordingOutbox())  # another process
    try:
        await here.create(Mentor(id="zoe", org_id="acme", capacity=5))
        await here.change("zoe", lambda mentor: mentor.take_mentee())  # `here` keeps version 1
        await there.change("zoe", lambda mentor: mentor.take_mentee())  # version 2, behind its back
        saved = await here.change("zoe", lambda mentor: mentor.take_mentee())
        assert saved is not None
        stored = await database["mentors"].find_one({"_id": "zoe"})
        assert stored is not None
        assert (stored["active"], stored["version"]) == (3, 3)
    finally:
        await mongo.drop_database(database.name)


async def test_a_change_cancelled_while_waiting_for_its_turn_leaves_the_others_theirs(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    store = AggregateStore(database["mentors"], Mentor, RecordingOutbox())
    writing, release = asyncio.Event(), asyncio.Event()

    async def held(mentor: Mentor) -> None:
        writing.set()
        await release.wait()

    try:
        await store.create(Mentor(id="ida", org_id="acme", capacity=5))
        first = asyncio.create_task(store.change("ida", Mentor.take_mentee, before_write=held))
        await writing.wait()  # the first change has the turn
        waiting = asyncio.create_task(store.change("ida", Mentor.take_mentee))
        third = asyncio.create_task(store.change("ida", Mentor.take_mentee))
        await asyncio.sleep(0.01)
        waiting.cancel()
        release.set()
        await first
        saved = await third
        assert saved is not None
        assert saved.aggregate.active == 2  # the cancelled one took nothing
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await store.change("ida", Mentor.take_mentee) is not None  # nobody holds the turn
        assert store._locks == {}  # dropped with the last change that waited for it
    finally:
        await mongo.drop_database(database.name)


def _take_if_open(mentor: Mentor) -> tuple[bool, list[Emitted]]:
    """Take a mentee if there is a place, else change nothing (as a mentor's `reserve_places`)."""
    if mentor.status is Availability.FULL:
        return False, []
    return True, mentor.take_mentee()


def _free_a_place(mentor: Mentor) -> list[Emitted]:
    mentor.active, mentor.status = mentor.active - 1, Availability.OPEN
    return []


async def test_a_change_that_writes_nothing_on_a_kept_copy_another_replica_changed_is_decided_on_the_store(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    """With no write there is no conflict to tell that the copy is behind: two replicas' matching
    floods had one replica find a mentor full on its copy run after run, for a minute, while the
    other had given the place back."""
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    here = AggregateStore(database["mentors"], Mentor, RecordingOutbox())
    there = AggregateStore(database["mentors"], Mentor, RecordingOutbox())  # another process
    try:
        await here.create(Mentor(id="zoe", org_id="acme", capacity=1))
        await here.change("zoe", lambda mentor: mentor.take_mentee())  # `here` keeps her full
        await there.change("zoe", _free_a_place)  # version 2, open again, behind its back
        saved = await here.change("zoe", _take_if_open)
        assert saved is not None
        assert saved.result is True
        stored = await database["mentors"].find_one({"_id": "zoe"})
        assert stored is not None
        assert (stored["active"], stored["status"], stored["version"]) == (1, "full", 3)

        # The kept copy is current: the store's version confirms it and nothing is written.
        again = await here.change("zoe", _take_if_open)
        assert again is not None
        assert again.result is False
        stored = await database["mentors"].find_one({"_id": "zoe"})
        assert stored is not None
        assert stored["version"] == 3
    finally:
        await mongo.drop_database(database.name)


async def test_a_store_that_keeps_its_creates_skips_the_first_read_and_loses_no_other_write(
    mongo: AsyncMongoClient[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    here = AggregateStore(database["mentors"], Mentor, RecordingOutbox(), keep_created=True)
    there = AggregateStore(database["mentors"], Mentor, RecordingOutbox())  # another process
    reads: list[str] = []
    find_by_id = here._grouped.find_by_id

    async def counted(document_id: str) -> dict[str, Any] | None:
        reads.append(document_id)
        return await find_by_id(document_id)

    monkeypatch.setattr(here._grouped, "find_by_id", counted)
    try:
        await here.create(Mentor(id="noa", org_id="acme", capacity=5))
        assert await here.change("noa", lambda mentor: mentor.take_mentee()) is not None
        assert reads == []  # what the create wrote was kept
        # Another replica changes what this one created: the kept copy is behind, the
        # conditional write fails, and this one reads and applies its change again.
        await here.create(Mentor(id="eli", org_id="acme", capacity=5))
        await there.change("eli", lambda mentor: mentor.take_mentee())
        assert await here.change("eli", lambda mentor: mentor.take_mentee()) is not None
        assert reads == ["eli"]
        stored = await database["mentors"].find_one({"_id": "eli"})
        assert stored is not None
        assert (stored["active"], stored["version"]) == (2, 2)
    finally:
        await mongo.drop_database(database.name)


async def test_observers_get_each_saved_aggregate_with_the_document_the_store_now_holds(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    store = AggregateStore(database["mentors"], Mentor, RecordingOutbox())
    seen: list[tuple[Mentor, dict[str, Any]]] = []
    store.observe(lambda aggregate, document: seen.append((aggregate, document)))
    try:
        await store.create(Mentor(id="mira", org_id="acme", capacity=1))
        await store.change("mira", lambda mentor: mentor.take_mentee())
        with pytest.raises(ValueError, match="no free place"):  # refused: nothing written or observed
            await store.change("mira", lambda mentor: mentor.take_mentee())
        assert [(mentor.version, mentor.active) for mentor, _ in seen] == [(0, 0), (1, 1)]
        stored = await database["mentors"].find_one({"_id": "mira"}, {"outbox": 0, "outbox_pending": 0})
        assert seen[-1][1] == stored  # what a read would give, outbox aside
        assert Mentor.model_validate(seen[-1][1]) == seen[-1][0]
    finally:
        await mongo.drop_database(database.name)


class Tagged(AggregateRoot):
    """An aggregate whose dump holds a tuple and an enum, which read back as a list and a string."""

    tags: tuple[str, ...] = ()
    status: Availability = Availability.OPEN
    note: str = ""


async def test_what_reads_back_as_stored_is_no_change_so_nothing_is_written(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_aggregates_{uuid.uuid4().hex[:8]}"]
    store = AggregateStore(database["tagged"], Tagged, RecordingOutbox())
    try:
        await store.create(Tagged(id="t", org_id="acme", tags=("a", "b"), status=Availability.FULL))
        stored = await database["tagged"].find_one({"_id": "t"})
        assert stored is not None
        assert (stored["tags"], stored["status"], stored["version"]) == (["a", "b"], "full", 0)

        def touch(tagged: Tagged) -> list[Emitted]:
            tagged.note = tagged.note  # the same values again
            return []

        def note(tagged: Tagged) -> list[Emitted]:
            tagged.note = "met"
            return []

        async def version_after(change: Callable[[Tagged], list[Emitted]]) -> int:
            saved = await store.change("t", change)
            assert saved is not None
            return saved.aggregate.version

        assert await version_after(touch) == 0  # read back from the store: a list and a string
        assert await version_after(note) == 1
        assert await version_after(touch) == 1  # from what this store kept: a tuple and an enum
        stored = await database["tagged"].find_one({"_id": "t"})
        assert stored is not None
        assert (stored["tags"], stored["status"], stored["note"], stored["version"]) == (
            ["a", "b"], "full", "met", 1
        )  # fmt: skip
    finally:
        await mongo.drop_database(database.name)


class _Plain(Enum):
    """An enum that is not a string: it compares equal only to itself, its value to the stored one."""

    ONE = "one"


@pytest.mark.parametrize(
    ("value", "stored", "same"),
    [
        (("a", "b"), ["a", "b"], True),
        (("a", "b"), ["a", "b", "c"], False),  # a longer list, decided without a walk
        (_Plain.ONE, "one", True),
        ({"kind": _Plain.ONE, "tags": ("a",)}, {"kind": "one", "tags": ["a"]}, True),
        ({"kind": _Plain.ONE, "tags": ("a",)}, {"kind": "one", "tags": ["b"]}, False),
        ({"kind": _Plain.ONE}, {"kind": "one", "more": 1}, False),  # other keys
        ([{"kind": _Plain.ONE}], [{"kind": "one"}], True),
        ({"pair": "p-1"}, None, False),  # a part the stored document did not have
        (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), True),
        (1, "1", False),
    ],
)
def test_a_value_is_the_stored_one_when_it_reads_back_as_it(value: Any, stored: Any, same: bool) -> None:
    assert same_as_stored(value, stored) is same
