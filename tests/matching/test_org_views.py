"""The in-memory view of an org: read once, then kept current by this process's own writes, and
read again after `resync_seconds`, a conflict or a deletion (by difference where the store can)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from matching.domain.candidate import ProfileFacts
from matching.domain.cohort import mentor_exclusion
from matching.domain.mentor import MentorCandidate
from matching.domain.org_view import OrgView
from matching.domain.program import Approval, Program
from matching.domain.seat import DeclineReason, MenteeSeat, SeatStatus
from matching.domain.seat_parts import Match
from matching.org_views import OTHERS_GRACE_SECONDS, OrgViews
from mentorship_schemas.events import PairEndReason

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Store:
    """What the view loads from: counts its loads, and can hand out an old copy of a document."""

    def __init__(self) -> None:
        self.seats: dict[str, MenteeSeat] = {}
        self.mentors: dict[str, MentorCandidate] = {}
        self.loads = 0
        self.read = 0

    async def load(self, org_id: str) -> tuple[list[MenteeSeat], list[MentorCandidate]]:
        self.loads += 1
        return (
            [s.model_copy(deep=True) for s in self.seats.values() if s.org_id == org_id],
            [m.model_copy(deep=True) for m in self.mentors.values() if m.org_id == org_id],
        )

    async def load_changed(
        self, org_id: str, known: Mapping[str, int], mentors_only: bool = False
    ) -> tuple[list[MenteeSeat], list[MentorCandidate], set[str]]:
        """Those (mentors, or all) whose version differs from `known`, counted in `read`, and
        every id there is (of mentors, or all)."""
        seats, mentors = await self.load(org_id)
        seats = [] if mentors_only else [s for s in seats if known.get(s.id) != s.version]
        mentors = [m for m in mentors if known.get(m.id) != m.version]
        self.read += len(seats) + len(mentors)
        present = set() if mentors_only else {s.id for s in self.seats.values() if s.org_id == org_id}
        return seats, mentors, present | {m.id for m in self.mentors.values() if m.org_id == org_id}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def saved(views: OrgViews, aggregate: MenteeSeat | MentorCandidate) -> None:
    """What an aggregate store tells the views after it wrote `aggregate`."""
    views.saved(aggregate, aggregate.to_document())


def _mentee(person: str, version: int = 1) -> MenteeSeat:
    seat = MenteeSeat.register("acme", person, ProfileFacts(skills_wanted=["python"]), 1, NOW)
    seat.version = version
    return seat


async def test_an_org_is_read_once_and_then_follows_this_process_s_writes() -> None:
    store, clock = Store(), Clock()
    store.seats["a"] = _mentee("ada")
    views = OrgViews(store.load, resync_seconds=30, clock=clock)
    assert set((await views.org("acme")).seats) == {"acme:ada:mentee"}

    bob = _mentee("bob")
    saved(views, bob)  # written by this process: no need to read the store again
    mentor = MentorCandidate.new("acme", "mira")
    mentor.version = 1
    saved(views, mentor)
    view = await views.org("acme")
    assert set(view.seats) == {"acme:ada:mentee", "acme:bob:mentee"}
    assert set(view.mentors) == {"mira"}
    assert store.loads == 1

    clock.now = 31  # other replicas' writes arrive with the next full read
    await views.org("acme")
    assert store.loads == 2


async def test_a_write_during_a_read_is_not_lost_to_the_older_copy_the_read_returns() -> None:
    store = Store()
    store.seats["a"] = _mentee("ada", version=1)
    views = OrgViews(store.load, resync_seconds=30, clock=Clock())
    newer = _mentee("ada", version=2)
    newer.waiting_since = NOW.replace(day=3)

    async def load_racing_a_write(org_id: str) -> tuple[list[MenteeSeat], list[MentorCandidate]]:
        loaded = await store.load(org_id)  # reads version 1 ...
        saved(views, newer)  # ... while this process writes version 2
        return loaded

    views.load = load_racing_a_write
    view = await views.org("acme")
    assert view.seats["acme:ada:mentee"].version == 2


async def test_a_conflict_or_a_deletion_makes_the_next_run_read_the_org_afresh() -> None:
    store = Store()
    store.seats["a"] = _mentee("ada")
    views = OrgViews(store.load, resync_seconds=30, clock=Clock())
    await views.org("acme")
    views.refresh("acme")
    await views.org("acme")
    assert store.loads == 2
    del store.seats["a"]
    views.forget_document("acme:ada:mentee")
    assert (await views.org("acme")).seats == {}
    assert store.loads == 3


def _mentor(person: str, version: int, **facts: object) -> MentorCandidate:
    mentor = MentorCandidate.new("acme", person)
    mentor.update_facts(ProfileFacts(**facts), profile_version=version)  # type: ignore[arg-type]
    mentor.version = version
    return mentor


async def test_a_mentor_s_match_profile_is_built_again_only_when_the_mentor_offset_or_load_changes() -> None:
    store, clock = Store(), Clock()
    store.mentors["mira"] = _mentor("mira", 1, skills_offered=["python"], timezone="Europe/Berlin")
    views = OrgViews(store.load, resync_seconds=30, clock=clock)

    first = await views.org("acme")
    built = first.profiles.of(first.mentors["mira"], NOW, 0)
    again = await views.org("acme")  # another view of the same load: the same profile object
    assert again.profiles.of(again.mentors["mira"], NOW, 0) is built
    assert built.skills_offered == ("python",)
    assert built.utc_offset_minutes == 60

    assert again.profiles.of(again.mentors["mira"], NOW, 1).program_load == 1
    summer = datetime(2026, 7, 1, 9, tzinfo=UTC)  # daylight saving time in Berlin
    assert again.profiles.of(again.mentors["mira"], summer, 0).utc_offset_minutes == 120

    saved(views, _mentor("mira", 2, skills_offered=["go"], timezone="Europe/Berlin"))  # written here
    changed = await views.org("acme")
    assert changed.profiles.of(changed.mentors["mira"], NOW, 0).skills_offered == ("go",)

    del store.mentors["mira"]  # deleted (an erasure): the next load keeps nothing of her
    views.refresh("acme")
    reloaded = await views.org("acme")
    assert "mira" not in reloaded.mentors
    assert reloaded.profiles is not changed.profiles


async def test_a_mentor_whose_places_or_availability_changed_keeps_their_facts_and_shows_the_change() -> None:
    store = Store()
    mira = _mentor("mira", 1, skills_offered=["python"], timezone="Europe/Berlin", goals="teams")
    mira.announce_available(1, 2)
    store.mentors["mira"] = mira
    views = OrgViews(store.load, resync_seconds=30, clock=Clock())
    built = (await views.org("acme")).profiles.of(mira, NOW, 0)

    placed = mira.model_copy(deep=True)  # another replica took a place: a new copy, same facts
    placed.reserve_places(["acme:ada:mentee"], NOW)
    placed.version = 2
    saved(views, placed)
    view = await views.org("acme")
    copied = view.profiles.of(view.mentors["mira"], NOW, 1)
    assert copied == placed.match_profile_in(NOW, 1)
    assert (copied.free_capacity, copied.program_load, built.free_capacity) == (1, 1, 2)

    full = placed.model_copy(deep=True)
    full.reserve_places(["acme:bob:mentee"], NOW)
    full.announce_unavailable(2, "paused")
    full.version = 3
    saved(views, full)
    view = await views.org("acme")
    paused = view.profiles.of(view.mentors["mira"], NOW, 1)
    assert (paused.accepting_mentees, paused.free_capacity) == (False, 0)
    assert paused == full.match_profile_in(NOW, 1)

    # Other facts at the same profile version (a record deleted and registered again) are read
    # afresh, never copied from the profile built before.
    again = _mentor("mira", 1, skills_offered=["go"], timezone="Europe/Berlin", goals="code")
    again.version = 4
    saved(views, again)
    view = await views.org("acme")
    fresh = view.profiles.of(view.mentors["mira"], NOW, 0)
    assert (fresh.skills_offered, fresh.utc_offset_minutes, fresh.goals) == (("go",), 60, "code")
    assert fresh == again.match_profile_in(NOW, 0)


async def test_a_view_holds_the_reporting_lines_as_saved_and_its_copies_stay_as_they_were() -> None:
    store = Store()
    store.mentors["mira"] = _mentor("mira", 1, manager_id="olga")
    store.seats["a"] = _mentee("ada")
    views = OrgViews(store.load, resync_seconds=30, clock=Clock())
    first = await views.org("acme")
    assert first.managers == {"mira": "olga"}

    moved = _mentee("ada", version=2)
    moved.manager_id = "mira"
    saved(views, moved)
    saved(views, _mentor("mira", 2))  # no manager any more
    saved(views, _mentor("tom", 1, manager_id="olga"))
    second = await views.org("acme")
    assert second.managers == {"ada": "mira", "tom": "olga"}
    assert set(second.mentors) == {"mira", "tom"}
    assert second.seats["acme:ada:mentee"].version == 2
    # What a run was given stays as it was while this process goes on saving.
    assert first.managers == {"mira": "olga"}
    assert set(first.mentors) == {"mira"}
    assert first.seats["acme:ada:mentee"].version == 1
    saved(views, _mentor("tom", 0, manager_id="someone"))  # an older copy changes nothing
    assert (await views.org("acme")).managers == {"ada": "mira", "tom": "olga"}


async def test_a_view_read_again_by_difference_keeps_what_did_not_change() -> None:
    store = Store()
    store.seats["a"], store.seats["b"] = _mentee("ada"), _mentee("bob")
    store.mentors["mira"], store.mentors["tom"] = _mentor("mira", 1), _mentor("tom", 1)
    views = OrgViews(store.load, resync_seconds=30, clock=Clock(), load_changed=store.load_changed)
    first = await views.org("acme")
    tom_profile = first.profiles.of(first.mentors["tom"], NOW, 0)
    first.profiles.of(first.mentors["mira"], NOW, 0)

    store.seats["b"] = _mentee("bob", version=2)  # another replica's writes
    del store.seats["a"], store.mentors["mira"]
    views.refresh("acme")
    second = await views.org("acme")

    assert store.read == 1  # bob's seat alone
    assert set(second.seats) == {"acme:bob:mentee"}
    assert second.seats["acme:bob:mentee"].version == 2
    assert set(second.mentors) == {"tom"}
    assert second.mentors["tom"] is first.mentors["tom"]
    assert second.profiles.of(second.mentors["tom"], NOW, 0) is tom_profile  # not built again
    assert "mira" not in second.profiles._built


async def test_a_refresh_of_the_mentors_reads_the_changed_mentors_and_leaves_the_seats_as_they_are() -> None:
    """After a place the view had free was taken elsewhere (another replica's offers), only the
    mentors are read again: in a flood with two replicas, reading their thousands of changed
    seats too took 1-2 s each time, for seats the other replica offers itself."""
    store = Store()
    store.seats["a"] = _mentee("ada")
    store.mentors["mira"], store.mentors["tom"] = _mentor("mira", 1), _mentor("tom", 1)
    views = OrgViews(store.load, resync_seconds=30, clock=Clock(), load_changed=store.load_changed)
    first = await views.org("acme")

    store.seats["a"], store.seats["b"] = _mentee("ada", version=2), _mentee("bob")  # another's writes
    store.mentors["mira"] = _mentor("mira", 2)
    views.refresh_mentors("acme")
    second = await views.org("acme")
    assert store.read == 1  # mira alone
    assert second.mentors["mira"].version == 2
    assert second.mentors["tom"] is first.mentors["tom"]
    assert set(second.seats) == {"acme:ada:mentee"}
    assert second.seats["acme:ada:mentee"].version == 1

    views.refresh("acme")  # a seat found changed: everything that changed is read
    third = await views.org("acme")
    assert store.read == 1 + 2
    assert {key: seat.version for key, seat in third.seats.items()} == {
        "acme:ada:mentee": 2,
        "acme:bob:mentee": 1,
    }


async def test_a_write_during_a_read_by_difference_is_not_lost() -> None:
    store = Store()
    store.seats["a"] = _mentee("ada", version=1)
    views = OrgViews(store.load, resync_seconds=30, clock=Clock(), load_changed=store.load_changed)
    await views.org("acme")
    store.seats["a"] = _mentee("ada", version=2)
    newer = _mentee("ada", version=3)

    async def read_racing_a_write(
        org_id: str, known: Mapping[str, int], mentors_only: bool
    ) -> tuple[list[MenteeSeat], list[MentorCandidate], set[str]]:
        read = await store.load_changed(org_id, known, mentors_only)  # reads version 2 ...
        saved(views, newer)  # ... while this process writes version 3
        return read

    views.load_changed = read_racing_a_write
    views.refresh("acme")
    assert (await views.org("acme")).seats["acme:ada:mentee"].version == 3


async def test_the_resync_and_forget_read_the_org_whole_even_where_the_store_reads_differences() -> None:
    store, clock = Store(), Clock()
    store.seats["a"] = _mentee("ada")
    views = OrgViews(store.load, resync_seconds=30, clock=clock, load_changed=store.load_changed)
    await views.org("acme")
    behind = _mentee("ada")  # changed outside the service: no new version
    behind.focus = "sql"
    store.seats["a"] = behind

    views.refresh("acme")
    assert (await views.org("acme")).seats["acme:ada:mentee"].focus is None  # same version: kept
    clock.now = 31
    assert (await views.org("acme")).seats["acme:ada:mentee"].focus == "sql"
    store.seats["a"] = _mentee("ada")
    views.forget("acme")
    assert (await views.org("acme")).seats["acme:ada:mentee"].focus is None
    assert store.loads == 4  # the first, the difference, the resync, after forget


async def test_a_run_s_mentors_with_free_places_are_those_it_may_pair_each_in_their_own_time_zone() -> None:
    store = Store()
    for person, zone, capacity in (
        ("mira", "Europe/Berlin", 2),
        ("kenji", "Asia/Tokyo", 1),
        ("uma", "UTC", 0),
    ):
        mentor = _mentor(person, 1, skills_offered=["python"], timezone=zone)
        if capacity:
            mentor.announce_available(1, capacity)
        store.mentors[person] = mentor
    store.mentors["kenji"].reserve_places(["acme:ada:mentee"], NOW)  # his one place is taken
    view = await OrgViews(store.load, resync_seconds=30, clock=Clock()).org("acme")
    program = Program.built_in("acme")
    policy = program.policy()

    every = {p.person_id: p for p in view.mentor_profiles(program, NOW)}
    free = {p.person_id: p for p in view.mentor_profiles(program, NOW, with_free_places=True)}
    assert set(every) == {"mira", "kenji", "uma"}
    assert set(free) == {"mira"}  # kenji is full, uma not available
    assert {p for p, profile in every.items() if mentor_exclusion(policy, profile) is None} == set(free)
    assert free["mira"] is every["mira"]  # the same profile, built once
    assert every["mira"].utc_offset_minutes == 60
    assert every["kenji"].utc_offset_minutes == 540
    assert (every["mira"].free_capacity, every["kenji"].free_capacity) == (2, 0)


async def test_a_seat_another_process_put_in_waiting_is_left_to_its_runs_for_a_while() -> None:
    """That process ran continuous matching right after its write; a run here would offer the same
    seat again and one of the two offers would lose its race."""
    store, clock = Store(), Clock()
    store.seats["a"] = _mentee("ada")
    views = OrgViews(store.load, resync_seconds=30, clock=clock, load_changed=store.load_changed)
    program = Program.built_in("acme")

    def offered(view: OrgView) -> set[str]:
        return {seat.person_id for seat in view.waiting_to_offer(program, 1)}

    assert offered(await views.org("acme")) == {"ada"}  # a first read (a process starting) leaves none

    store.seats["b"] = _mentee("bob")  # another replica registered bob ...
    store.seats["c"] = _mentee("cy")
    saved(views, store.seats["c"])  # ... and this process cy
    clock.now = 1
    views.refresh("acme")
    view = await views.org("acme")
    assert {seat.person_id for seat in view.waiting_in(program, 1)} == {"ada", "bob", "cy"}
    assert offered(view) == {"ada", "cy"}

    clock.now = 1 + OTHERS_GRACE_SECONDS  # the other may have stopped: any run offers bob now
    assert offered(await views.org("acme")) == {"ada", "bob", "cy"}
    views.refresh("acme")  # read again at the same version: the grace does not start over
    assert offered(await views.org("acme")) == {"ada", "bob", "cy"}

    store.seats["b"] = _mentee("bob", version=2)  # the other replica put him in waiting again
    store.seats["c"] = _mentee("cy", version=2)  # and changed cy: no longer this process's own
    clock.now += 1
    views.refresh("acme")
    assert offered(await views.org("acme")) == {"ada"}
    store.seats["b"] = _mentee("bob", version=3)
    saved(views, store.seats["b"])  # written here: this process's own again
    assert offered(await views.org("acme")) == {"ada", "bob"}

    store.seats["d"] = _mentee("dee")  # what a whole read (the resync) brings is noted the same way
    clock.now += 31
    assert offered(await views.org("acme")) == {"ada", "bob", "cy"}
    assert store.loads == 2 + 3  # the first and the resync whole, three reads by difference


async def test_a_write_of_this_process_during_a_read_is_not_taken_for_another_s() -> None:
    store = Store()
    views = OrgViews(store.load, resync_seconds=30, clock=Clock(), load_changed=store.load_changed)
    await views.org("acme")
    store.seats["a"] = _mentee("ada", version=1)  # another's write, read ...
    newer = _mentee("ada", version=2)

    async def read_racing_a_write(
        org_id: str, known: Mapping[str, int], mentors_only: bool
    ) -> tuple[list[MenteeSeat], list[MentorCandidate], set[str]]:
        read = await store.load_changed(org_id, known, mentors_only)
        saved(views, newer)  # ... while this process writes version 2
        return read

    views.load_changed = read_racing_a_write
    views.refresh("acme")
    view = await views.org("acme")
    assert [seat.version for seat in view.waiting_to_offer(Program.built_in("acme"), 1)] == [2]


def test_a_seat_whose_offer_is_being_written_is_left_to_it_and_its_place_counts_as_taken() -> None:
    """Between a mentor's place taken and the seat's offer written, the seat still waits: a run
    then leaves it alone, counts the place in the mentor's program load, and keeps that mentor off
    the person's other seats (a run starting while another's offers are written sees this)."""
    program = Program.built_in("acme")
    ada, bob = _mentee("ada"), _mentee("bob")
    ada_second = ada.new_focus_seat(program.program_id, 2, "python", NOW)
    mira = MentorCandidate.new("acme", "mira")
    mira.announce_available(1, capacity=3)
    mira.reserve_places([ada.id], NOW)
    view = OrgView.of("acme", [ada, bob, ada_second], [mira])

    assert view.offer_under_way(ada) == "mira"
    assert [seat.person_id for seat in view.waiting_to_offer(program, 1)] == ["bob"]
    assert view.program_load(program.program_id) == {"mira": 1}
    assert view.excluded_for(ada_second) == ["mira"]
    assert view.excluded_for(bob) == []
    assert (view.seats_of("ada"), view.seats_of("bob"), view.seats_of("cy")) == ([ada, ada_second], [bob], [])


async def test_a_refresh_asked_while_the_view_is_being_read_again_is_kept_for_the_next_read() -> None:
    """Offers written while the next run reads the view may find it behind: what they ask then is
    not lost when that read ends."""
    store = Store()
    store.seats["a"] = _mentee("ada")
    views = OrgViews(store.load, resync_seconds=30, clock=Clock(), load_changed=store.load_changed)
    await views.org("acme")
    reading = store.load_changed

    async def read_while_an_offer_asks(
        org_id: str, known: Mapping[str, int], mentors_only: bool
    ) -> tuple[list[MenteeSeat], list[MentorCandidate], set[str]]:
        views.refresh("acme")  # an offer's write found a seat changed meanwhile
        return await reading(org_id, known, mentors_only)

    views.load_changed = read_while_an_offer_asks
    views.refresh_mentors("acme")
    await views.org("acme")
    views.load_changed = reading
    store.seats["a"] = _mentee("ada", version=2)
    assert (await views.org("acme")).seats["acme:ada:mentee"].version == 2


@pytest.mark.parametrize("seed", range(6))
async def test_what_a_view_keeps_as_saves_come_is_what_a_view_read_whole_finds(seed: int) -> None:
    """The waiting seats, the mentors with a free place, the offers under way and the mentors'
    program loads follow every save (offers, holds, ends, places taken and given back, availability,
    focus seats, stale copies) and every read by difference of another process's writes (deletions
    too) as a view of the same candidates built from nothing finds them."""
    rng = random.Random(seed)
    store, clock = Store(), Clock()
    programs = [Program.built_in("acme"), Program.built_in("acme").model_copy(update={"program_id": "p2"})]
    for n in range(8):
        mentor = _mentor(f"m{n}", 1, skills_offered=["python"])
        mentor.announce_available(1, rng.choice([1, 2, 3]))
        store.mentors[mentor.person_id] = mentor
    for n in range(20):
        mentee = _mentee(f"e{n}")
        store.seats[mentee.id] = mentee
    views = OrgViews(store.load, resync_seconds=30, clock=clock, load_changed=store.load_changed)
    await views.org("acme")
    seats = {seat.id: seat for seat in store.seats.values()}
    mentors = dict(store.mentors)

    def save(aggregate: MenteeSeat | MentorCandidate) -> None:
        aggregate.version += 1
        saved(views, aggregate)

    for step in range(150):
        seat = rng.choice(list(seats.values())).model_copy(deep=True)
        mentor = rng.choice(list(mentors.values())).model_copy(deep=True)
        action = rng.randrange(8)
        read_again: bool | None = None  # True: the whole org read again; False: its mentors
        placed = any(mentor.holds_place(seat.id) for mentor in mentors.values())
        # A seat whose offer is under way is left to it (`waiting_to_offer`): one place per seat.
        if action == 0 and seat.waiting and not placed and mentor.free_slots > 0:
            program = rng.choice(programs)
            seat.program_id = program.program_id
            mentor.reserve_places([seat.id], NOW)  # the place first, then the offer (pool.py)
            save(mentor)
            mentors[mentor.person_id] = mentor
            if rng.random() < 0.8:  # or the offer is still under way
                approval = rng.choice([Approval.FINAL, Approval.MENTOR])
                seat.offer(program, Match(mentor.person_id, 0.5, (), {}), NOW, approval=approval)
                save(seat)
        elif action == 1 and seat.status is SeatStatus.PAIRED and seat.pair is not None:
            holder = mentors[seat.pair.mentor_id].model_copy(deep=True)
            seat.end_pair(PairEndReason.NOT_A_FIT, NOW, rematch=rng.random() < 0.7)
            save(seat)
            holder.give_back_places([seat.id])
            save(holder)
            mentors[holder.person_id] = holder
        elif action == 2 and seat.status is SeatStatus.HELD and seat.hold is not None:
            holder = mentors[seat.hold.mentor_id].model_copy(deep=True)
            seat.drop_hold(DeclineReason.DECLINED, NOW)
            save(seat)
            holder.give_back_places([seat.id])
            save(holder)
            mentors[holder.person_id] = holder
        elif action == 3:
            if mentor.takes_mentees:
                mentor.announce_unavailable(mentor.availability_version + 1, "paused")
            else:
                mentor.announce_available(mentor.availability_version + 1, rng.choice([1, 2, 3]))
            save(mentor)
            mentors[mentor.person_id] = mentor
        elif action == 4 and seat.seat == 1 and seat.waiting:
            focus = seat.new_focus_seat("acme", 2, "python", NOW)
            saved(views, focus)
            seats[focus.id] = focus
        elif action == 5:
            stale = seat.model_copy(update={"status": SeatStatus.ENDED, "version": seat.version - 1})
            saved(views, stale)  # an older copy, saved late: changes nothing
            continue
        elif action == 6 and rng.random() < 0.2:
            store.seats.update({s.id: s for s in seats.values()})
            store.mentors.update(mentors)
            if rng.random() < 0.5:
                views.refresh_mentors("acme")
            else:
                views.refresh("acme")
        elif action == 7:
            # Another process's writes, which the view learns of only by reading again: a mentor's
            # availability, a seat or mentor deleted (erased), a mentee registered.
            mentor.availability_version += 1
            if mentor.takes_mentees:
                mentor.announce_unavailable(mentor.availability_version, "paused")
            else:
                mentor.announce_available(mentor.availability_version, rng.choice([1, 2, 3]))
            mentor.version += 1
            mentors[mentor.person_id] = store.mentors[mentor.person_id] = mentor
            read_again = rng.random() < 0.6
            if read_again:
                chance = rng.random()
                if chance < 0.3 and seat.waiting:
                    del seats[seat.id], store.seats[seat.id]
                elif chance < 0.4 and len(mentors) > 4 and not mentor.places:
                    del mentors[mentor.person_id], store.mentors[mentor.person_id]
                elif chance < 0.7:
                    mentee = _mentee(f"x{step}")
                    seats[mentee.id] = store.seats[mentee.id] = mentee
                views.refresh("acme")
            else:
                views.refresh_mentors("acme")
        else:
            continue
        if seat.id in seats and seat.version > seats[seat.id].version:
            seats[seat.id] = seat
        store.seats.update({s.id: s for s in seats.values()})
        store.mentors.update(mentors)

        kept = await views.org("acme")
        if read_again is not None:  # the view holds what the store has (of the mentors, or all)
            versions = {m.person_id: m.version for m in store.mentors.values()}
            assert {m.person_id: m.version for m in kept.mentors.values()} == versions, step
            if read_again:
                assert {s.id: s.version for s in kept.seats.values()} == {
                    s.id: s.version for s in store.seats.values()
                }, step
        whole = OrgView("acme", dict(kept.seats), dict(kept.mentors), dict(kept.managers))
        assert kept.kept is not None, step
        assert whole.kept is None
        for program in programs:
            for number in (1, 2):
                assert [s.id for s in kept.waiting_in(program, number)] == [
                    s.id for s in whole.waiting_in(program, number)
                ], step
            assert kept.program_load(program.program_id) == whole.program_load(program.program_id), step
            assert [p.person_id for p in kept.mentor_profiles(program, NOW, with_free_places=True)] == [
                p.person_id for p in whole.mentor_profiles(program, NOW, with_free_places=True)
            ], step
            assert kept.offers_possible(program) == whole.offers_possible(program), step
        for waiting in whole.waiting_in(programs[0]) + whole.waiting_in(programs[1]):
            assert kept.offer_under_way(waiting) == whole.offer_under_way(waiting), step
            assert kept.excluded_for(waiting) == whole.excluded_for(waiting), step
        assert kept.has_focus_seats() == whole.has_focus_seats(), step
        for person in {s.person_id for s in kept.seats.values()}:
            assert kept.seats_of(person) == whole.seats_of(person), step


async def test_what_another_process_deleted_leaves_the_kept_parts_when_the_view_reads_again() -> None:
    """An erased mentor's places, an erased paired seat's load and the last focus seat go from what
    the view keeps when a read by difference finds them gone, as from a view read whole."""
    store = Store()
    program = Program.built_in("acme")
    ada, bob = _mentee("ada"), _mentee("bob")
    focus = ada.new_focus_seat(program.program_id, 2, "python", NOW)
    mira, sam = _mentor("mira", 1), _mentor("sam", 1)
    for mentor in (mira, sam):
        mentor.announce_available(1, capacity=2)
    mira.reserve_places([bob.id], NOW)  # bob's offer is under way
    sam.reserve_places([ada.id], NOW)
    ada.offer(program, Match("sam", 0.5, (), {}), NOW)  # paired
    store.seats.update({seat.id: seat for seat in (ada, bob, focus)})
    store.mentors.update({mentor.person_id: mentor for mentor in (mira, sam)})
    views = OrgViews(store.load, resync_seconds=30, clock=Clock(), load_changed=store.load_changed)
    before = await views.org("acme")
    assert before.offer_under_way(bob) == "mira"
    assert before.program_load(program.program_id) == {"sam": 1, "mira": 1}
    assert before.has_focus_seats()

    del store.mentors["mira"], store.seats[ada.id], store.seats[focus.id]
    views.refresh("acme")
    after = await views.org("acme")
    whole = OrgView("acme", dict(after.seats), dict(after.mentors), dict(after.managers))
    assert (sorted(after.seats), sorted(after.mentors)) == ([bob.id], ["sam"])
    for view in (after, whole):
        assert view.offer_under_way(bob) is None
        assert view.program_load(program.program_id) == {}
        assert not view.has_focus_seats()
