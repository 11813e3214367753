"""A mentor's places in matching against profiles' count of their mentees (issue 11, defect 3).

Profiles' own aggregate (`Person`) plays profiles here: it takes matching's PairCreated / PairEnded
and answers MentorAvailable / MentorUnavailable, which the test delivers to matching's handlers
late, in the order a busy consumer would, and then compares both counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from matching import handlers
from matching.domain.match_run import as_match
from matching.domain.mentor import UNBACKED_PLACE_GRACE, mentor_key
from matching.domain.program import Program
from matching.domain.seat import SeatStatus, seat_key
from matching.domain.seat_parts import HoldKind
from matching.use_cases import pairs, pool, profiles, requests
from matching.use_cases.context import Caller
from mentorship_schemas import Event, PairCreated, PairEnded
from mentorship_schemas.events import PairEndReason, PersonRole
from profiles.domain.person import Person

from tests.kafka_records import cloud_event
from tests.matching.fakes import START, InMemoryMatching
from tests.matching.test_use_cases import ORG, add_mentee, add_mentor, add_program

pytestmark = pytest.mark.fast


class ProfilesTwin:
    """Profiles' view of one mentor, fed with matching's pair events as profiles' consumer would."""

    def __init__(self, mem: InMemoryMatching, person_id: str, capacity: int) -> None:
        self.mem = mem
        values = {"display_name": "Grace", "email": "g@example.com", "roles": ["mentor"]}
        self.person, emitted = Person.register(ORG, person_id, values | {"mentor_capacity": capacity}, START)
        self.pending: list[Event] = [item.event for item in emitted]
        self.seen = 0

    def take_pair_events(self) -> None:
        """Profiles handles every PairCreated / PairEnded matching published since the last call;
        the availability events it answers wait in `pending` until delivered."""
        published = [
            e.event for e in self.mem.seats.published if isinstance(e.event, PairCreated | PairEnded)
        ]
        for event in published[self.seen :]:
            if event.mentor_id != self.person.person_id:
                continue
            change = self.person.start_pair if isinstance(event, PairCreated) else self.person.end_pair
            emitted = change(event.pair_id, f"cause-{event.pair_id}-{type(event).__name__}")
            self.person.version += 1  # what profiles' store does on each saved change
            self.pending += [item.event for item in emitted]
        self.seen = len(published)

    async def deliver(self) -> None:
        """Matching's consumer handles what profiles announced, in order."""
        route: dict[type[Event], Any] = dict(handlers.HANDLERS)
        pending, self.pending = self.pending, []
        for event in pending:
            await route[type(event)](self.mem.context, event, cloud_event(event, "profiles"))

    @property
    def free_places(self) -> int:
        return self.person.mentor_capacity - len(self.person.active_pair_ids)


async def test_a_mentor_available_computed_before_the_second_of_two_endings_leaves_both_counts_equal() -> (
    None
):
    mem = InMemoryMatching.new()
    profiles_side = ProfilesTwin(mem, "grace", capacity=2)
    for mentee in ("ada", "bob"):
        await add_mentee(mem, mentee, skills_wanted=["python"])
    await add_program(mem, "asking", approval="mentor_acceptance", continuous=False)
    await add_mentee(mem, "carl", program_id="asking", skills_wanted=["python"])
    await profiles_side.deliver()  # ProfileRegistered, MentorAvailable(capacity 2): ada and bob paired
    assert {s.person_id for s in await mem.context.reads.seats_paired_with(ORG, "grace")} == {"ada", "bob"}
    profiles_side.take_pair_events()  # profiles: 2 of 2 -> MentorUnavailable(at_capacity)
    await profiles_side.deliver()

    # Both pairs end; profiles handles the first ending (1 of 2 -> MentorAvailable, active 1) and
    # the second (0 of 2: still available, nothing to announce) before matching sees that event.
    for mentee in ("ada", "bob"):
        pair = (await mem.seat(ORG, mentee)).pair
        assert pair is not None
        await pairs.end(mem.context, Caller(ORG, mentee), pair.pair_id, PairEndReason.COMPLETED)
    profiles_side.take_pair_events()
    await profiles_side.deliver()
    assert (await mem.mentor(ORG, "grace")).free_slots == profiles_side.free_places == 2

    # One request is accepted: one place taken in both services, one still free.
    held = await requests.ask_mentor(mem.context, Caller(ORG, "carl"), "grace", None, None)
    assert held.hold is not None
    await requests.accept(
        mem.context, Caller(ORG, "grace"), held.hold.id, HoldKind.REQUEST, PersonRole.MENTOR
    )
    profiles_side.take_pair_events()
    await profiles_side.deliver()
    assert profiles_side.free_places == 1
    assert (await mem.mentor(ORG, "grace")).free_slots == 1, "matching must not say 'no free capacity'"
    await add_mentee(mem, "dora", program_id="asking", skills_wanted=["python"])
    suggested = await requests.suggestions(mem.context, Caller(ORG, "dora"), None, 5)
    assert [s.mentor_id for s in suggested] == ["grace"]


async def test_giving_a_place_back_twice_frees_it_once_and_one_seat_never_takes_two() -> None:
    mem = InMemoryMatching.new()
    await add_mentor(mem, "sam", free=2, skills_offered=["python"])
    key, ada = mentor_key(ORG, "sam"), seat_key(ORG, "ada")
    taken = await mem.mentors.change(key, lambda sam: sam.reserve_place(ada, START))
    again = await mem.mentors.change(key, lambda sam: sam.reserve_place(ada, START))
    assert taken is not None
    assert again is not None
    assert (taken.result, again.result, (await mem.mentor(ORG, "sam")).free_slots) == (True, False, 1)
    for _ in range(2):
        await mem.mentors.change(key, lambda sam: sam.give_back_place(ada))
    assert (await mem.mentor(ORG, "sam")).free_slots == 2


async def test_a_mentor_available_gives_back_a_place_lost_in_a_crash_and_keeps_one_in_flight() -> None:
    mem = InMemoryMatching.new()
    await add_mentee(mem, "ada", skills_wanted=["python"])
    await add_mentor(mem, "sam", free=3, skills_offered=["python"])
    await profiles.mentor_available(mem.context, ORG, "sam", 2, capacity=3, active_mentees=0)
    assert (await mem.seat(ORG, "ada")).status is SeatStatus.PAIRED
    key = mentor_key(ORG, "sam")
    # A crash after a pair ended and before its place came back, and an offer under way now.
    await mem.mentors.change(key, lambda sam: sam.reserve_place(seat_key(ORG, "gone"), START))
    mem.clock.advance(UNBACKED_PLACE_GRACE + timedelta(minutes=1))
    await mem.mentors.change(key, lambda sam: sam.reserve_place(seat_key(ORG, "coming"), mem.clock.now()))
    assert (await mem.mentor(ORG, "sam")).free_slots == 0
    await profiles.mentor_available(mem.context, ORG, "sam", 3, capacity=3, active_mentees=1)
    sam = await mem.mentor(ORG, "sam")
    assert sorted(p.seat_id for p in sam.places) == [seat_key(ORG, "ada"), seat_key(ORG, "coming")]
    assert sam.free_slots == 1


async def test_a_mentors_seats_offered_together_take_their_places_in_one_write() -> None:
    mem = InMemoryMatching.new()
    for person in ("ada", "bob"):
        await add_mentee(mem, person, skills_wanted=["python"])
    await add_mentor(mem, "sam", free=2, skills_offered=["python"])
    version = (await mem.mentor(ORG, "sam")).version
    seats = [await mem.seat(ORG, person) for person in ("ada", "bob")]
    match = as_match("sam", 0.9, ("python",), {"skills": 0.9})
    program = Program.built_in(ORG)
    assert (
        await pool.offer_to_mentor(mem.context, program, "sam", [(s, match) for s in seats], automatic=True)
        == 2
    )
    sam = await mem.mentor(ORG, "sam")
    assert sorted(p.seat_id for p in sam.places) == [seat_key(ORG, "ada"), seat_key(ORG, "bob")]
    assert sam.version == version + 1, "both places in one change of the mentor"
    assert {(await mem.seat(ORG, p)).status for p in ("ada", "bob")} == {SeatStatus.PAIRED}
    assert sorted(e.mentee_id for e in mem.published(PairCreated)) == ["ada", "bob"]


async def test_a_seat_that_changed_gives_its_place_back_and_one_beyond_capacity_gets_none() -> None:
    mem = InMemoryMatching.new()
    for person in ("ada", "bob", "cy"):
        await add_mentee(mem, person, skills_wanted=["python"])
    await add_mentor(mem, "sam", free=2, skills_offered=["python"])
    seats = [await mem.seat(ORG, person) for person in ("ada", "bob", "cy")]
    # Bob's seat changes after the run read it (an answer, a withdrawal): his offer is not made.
    await mem.seats.change(seats[1].id, lambda bob: setattr(bob, "focus", "rust") or [])
    match = as_match("sam", 0.9, ("python",), {"skills": 0.9})
    made = await pool.offer_to_mentor(
        mem.context, Program.built_in(ORG), "sam", [(s, match) for s in seats], automatic=True
    )
    assert made == 1
    sam = await mem.mentor(ORG, "sam")
    assert [p.seat_id for p in sam.places] == [seat_key(ORG, "ada")]
    assert sam.free_slots == 1
    statuses = [(await mem.seat(ORG, p)).status for p in ("ada", "bob", "cy")]
    assert statuses == [SeatStatus.PAIRED, SeatStatus.WAITING, SeatStatus.WAITING]
    assert [e.mentee_id for e in mem.published(PairCreated)] == ["ada"]
