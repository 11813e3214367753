"""Continuous matching runs over a view of the whole org (every waiting seat, every mentor); re-reading
and re-validating thousands of candidates for every run would cost more than the run. This keeps one
view per org in memory instead: loaded once, then kept current by this process's own writes (the
aggregate stores tell it what they saved), and read again every `resync_seconds` or when asked
(`refresh`: after a conflict, or a deletion). Other replicas' writes reach it then; meanwhile an
offer built on a stale view fails its conditional write and is simply not made.

After a conflict the view is read again by difference when the store can (`load_changed`): every
candidate's id and version, then only those whose version the view does not have (every write of
ours to a candidate raises its version). With two replicas on one org, each re-read the whole org
after its offers lost races: 4-5 times in a flood, 15,000 candidates each, a third of a replica's
CPU in the service. The resync still reads everything, so a change made outside the service (one
that raised no version) shows within `resync_seconds` as before; `forget` asks for that at once.
A place the view had free but another writer took (an offer that could not take it) needs only
the mentors read again (`refresh_mentors`): the other replica's seats, most of what changed, are
its own to offer. In the flood with two replicas a read of the mentors took 0.5-0.7 s, one with
the other replica's seats 1-2 s. Reading the mentors again before every run as well, not only
after a lost race, cost more than the races it spared: x0.962 records/s and x1.077 CPU per record
in 6 alternated rounds of that flood.

A seat another process put in waiting (a registration another replica consumed, say) is that
process's to offer first: its continuous matching runs right after its write, while this view
learns of the seat only at its next read. So such a seat, first read here less than
`others_grace_seconds` ago, is left out of this process's continuous runs (`OrgView.left_to_others`).
Two replicas in one org otherwise ran the engine over the same new seats and wrote the same
offers: one replica's run of 2,766 waiting seats made 227 offers and lost 2,539 races. After the
grace any run offers the seat (the other process may have stopped), and the waiting-seats sweep
finds it in any case.

Each replica thus offers its own seats, and both race for the org's mentors. Running every run of
an org in one replica instead (the one holding the org's partition of an internal topic, the
others handing their runs over with the ids of the candidates they wrote, read by id into its
view) removed the races but not the work: built and measured on matching's flood with two
replicas, 4 alternated rounds, x0.553 records/s. The replica not holding the org finished its
half of the records 3 s into the flood and idled, while the holder's one loop did every run and
wrote every offer for 6.5 s more.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from servicekit.aggregates import Document

from matching.domain.mentor import MentorCandidate
from matching.domain.org_view import KeptParts, MentorProfiles, OrgView, managers_of, seat_load
from matching.domain.seat import MenteeSeat, SeatStatus

A = TypeVar("A", MenteeSeat, MentorCandidate)
Load = Callable[[str], Awaitable[tuple[list[MenteeSeat], list[MentorCandidate]]]]
# Longer than a continuous run takes under load (1-4 s in the matching flood), much shorter than
# the waiting-seats sweep's minute.
OTHERS_GRACE_SECONDS = 10.0
# An org's candidates (only its mentors, when the flag says so) that differ from the versions given
# (by document id), and the ids of all it has.
LoadChanged = Callable[
    [str, Mapping[str, int], bool], Awaitable[tuple[list[MenteeSeat], list[MentorCandidate], set[str]]]
]


@dataclass
class _Org:
    seats: dict[str, MenteeSeat]  # by id
    mentors: dict[str, MentorCandidate]  # by person: one mentor candidate each in an org
    loaded_at: float
    # Built from these mentors' copies; a full load starts afresh (an erased mentor's goes with it).
    profiles: MentorProfiles = field(default_factory=MentorProfiles)
    # Read again at the next run (what `refresh` asks; a conflict showed the view behind).
    stale: bool = False
    # Only the mentors read again at the next run (what `refresh_mentors` asks).
    mentors_stale: bool = False
    # The reporting lines, built when a view is first asked for after one of them changed.
    _managers: dict[str, str] | None = None
    # What every run asks of the whole org, kept as saves come instead of found again by each
    # run's view: the waiting seats (by id), the mentors with a free place (by person) and the
    # people with a focus seat (numbered 2 and on; a seat's number never changes). Late in a flood
    # most of the org's 15,000 candidates are paired or full, and each run passed over them all.
    _waiting: dict[str, MenteeSeat] = field(init=False, repr=False)
    _free: dict[str, MentorCandidate] = field(init=False, repr=False)
    _focused: set[str] = field(init=False, repr=False)
    # And for the mentors' loads: the mentors holding a place for each seat (one, but for a moment
    # after two writers' races: the last to take it stands for the offer under way), and the
    # paired and held seats of each program by mentor (`seat_load`).
    _placed: dict[str, dict[str, None]] = field(init=False, repr=False)
    _loads: dict[str, Counter[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Kept as saves keep them: each candidate put in turn, in the view's order.
        self._waiting, self._free, self._focused, self._placed = {}, {}, set(), {}
        self._loads = defaultdict(Counter)
        for seat in list(self.seats.values()):
            self._put_seat(None, seat)
        for mentor in list(self.mentors.values()):
            self._put_mentor(None, mentor)

    def view(self, org_id: str) -> OrgView:
        """A view of the org as kept now; its dicts are copies (a run reads them, in the engine's
        thread too, while saves go on changing these), copied whole rather than built again."""
        if self._managers is None:
            self._managers = managers_of(self.seats.values(), self.mentors.values())
        seats, mentors, managers = dict(self.seats), dict(self.mentors), dict(self._managers)
        return OrgView(
            org_id,
            seats,
            mentors,
            managers,
            profiles=self.profiles,
            kept=KeptParts(
                list(self._waiting.values()),
                dict(self._free),
                set(self._focused),
                {key: next(reversed(self._placed[key])) for key in self._waiting if key in self._placed},
                {program_id: Counter(load) for program_id, load in self._loads.items()},
            ),
        )

    def apply(self, saved: MenteeSeat | MentorCandidate) -> None:
        """A save of this process: taken unless the view has a newer version already."""
        if isinstance(saved, MenteeSeat):
            known_seat = self.seats.get(saved.id)
            if known_seat is None or known_seat.version <= saved.version:
                self._put_seat(known_seat, saved)
            return
        known = self.mentors.get(saved.person_id)
        if known is None or known.version <= saved.version:
            self._put_mentor(known, saved)

    def _put_seat(self, known: MenteeSeat | None, saved: MenteeSeat) -> None:
        self.seats[saved.id] = saved
        if known is not None:
            self._count(known, -1)
        self._count(saved, 1)
        _keep_if(self._waiting, saved.id, saved, saved.status is SeatStatus.WAITING)
        if saved.seat != 1:
            self._focused.add(saved.person_id)
        self._note_managers(known, saved)

    def _put_mentor(self, known: MentorCandidate | None, saved: MentorCandidate) -> None:
        self.mentors[saved.person_id] = saved
        _keep_if(self._free, saved.person_id, saved, saved.free_slots > 0)
        self._place(known, saved)
        self._note_managers(known, saved)

    def _drop_seat(self, seat: MenteeSeat) -> None:
        del self.seats[seat.id]
        self._count(seat, -1)
        self._waiting.pop(seat.id, None)
        if seat.seat != 1 and not any(
            other.person_id == seat.person_id and other.seat != 1 for other in self.seats.values()
        ):
            self._focused.discard(seat.person_id)
        self._note_managers(seat, seat)

    def _drop_mentor(self, mentor: MentorCandidate) -> None:
        del self.mentors[mentor.person_id]
        self._free.pop(mentor.person_id, None)
        self._place(mentor, None)
        self._note_managers(mentor, mentor)

    def _place(self, known: MentorCandidate | None, saved: MentorCandidate | None) -> None:
        """The mentor's places as saved (none: gone), in place of those of the copy known before."""
        if known is not None:
            for place in known.places:
                holders = self._placed.get(place.seat_id)
                if holders is not None:
                    holders.pop(known.person_id, None)
                    if not holders:
                        del self._placed[place.seat_id]
        if saved is not None:
            for place in saved.places:
                self._placed.setdefault(place.seat_id, {})[saved.person_id] = None

    def _count(self, seat: MenteeSeat, by: int) -> None:
        held = seat_load(seat)
        if held is None:
            return
        load = self._loads[held[0]]
        load[held[1]] += by
        if load[held[1]] <= 0:
            del load[held[1]]

    def _note_managers(
        self, known: MenteeSeat | MentorCandidate | None, saved: MenteeSeat | MentorCandidate
    ) -> None:
        if saved.manager_id or (known is not None and known.manager_id):
            self._managers = None

    def versions(self, mentors_only: bool) -> dict[str, int]:
        """Every candidate's version in the view (or every mentor's), by document id."""
        versions = {} if mentors_only else {seat.id: seat.version for seat in self.seats.values()}
        versions.update((mentor.id, mentor.version) for mentor in self.mentors.values())
        return versions

    def read_again(
        self,
        seats: list[MenteeSeat],
        mentors: list[MentorCandidate],
        present: set[str],
        loaded_at: float,
        mentors_only: bool,
    ) -> None:
        """Take the candidates read again in place of the view's copies (whatever their versions:
        the store's word), and drop those the store no longer has (of the mentors only, when only
        they were read). The kept parts follow each, as for a save: a read after a lost race
        brings what other writers changed (in the matching flood with two replicas, up to a few
        thousand of the org's 15,000 candidates), and building the view again from all of them
        was 2.4% of a replica's samples there."""
        if not mentors_only:
            for gone in [seat for seat in self.seats.values() if seat.id not in present]:
                self._drop_seat(gone)
        for gone_mentor in [mentor for mentor in self.mentors.values() if mentor.id not in present]:
            self._drop_mentor(gone_mentor)
        for seat in seats:
            self._put_seat(self.seats.get(seat.id), seat)
        for mentor in mentors:
            self._put_mentor(self.mentors.get(mentor.person_id), mentor)
        self.profiles.keep_only(self.mentors)
        self.loaded_at = loaded_at


def _keep_if(kept: dict[str, A], key: str, value: A, keep: bool) -> None:
    if keep:
        kept[key] = value
    else:
        kept.pop(key, None)


@dataclass
class OrgViews:
    load: Load
    resync_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    load_changed: LoadChanged | None = None
    others_grace_seconds: float = OTHERS_GRACE_SECONDS
    _orgs: dict[str, _Org] = field(default_factory=dict)
    # What was saved while (or since) an org was last loaded: applied over a load that may have
    # read an older version.
    _recent: dict[str, dict[str, MenteeSeat | MentorCandidate]] = field(default_factory=dict)
    # By org: the waiting seats this process wrote (id -> version), and those another process
    # put in waiting, with when a read here first had them (id -> (version, clock)).
    _written: dict[str, dict[str, int]] = field(default_factory=dict)
    _others: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)

    async def org(self, org_id: str) -> OrgView:
        cached = self._orgs.get(org_id)
        if cached is None or self.clock() - cached.loaded_at > self.resync_seconds:
            cached = await self._reload(org_id, cached, whole=True)
        elif cached.stale or cached.mentors_stale:
            cached = await self._reload(org_id, cached, whole=False, mentors_only=not cached.stale)
        view = cached.view(org_id)
        view.left_to_others = self._left_to_others(org_id)
        return view

    async def _reload(
        self, org_id: str, previous: _Org | None, *, whole: bool, mentors_only: bool = False
    ) -> _Org:
        self._recent.setdefault(org_id, {})
        started = self.clock()
        if previous is not None:  # served by this read; a refresh asked during it stays asked
            previous.stale = previous.mentors_stale = False
        if previous is not None and not whole and self.load_changed is not None:
            known = previous.versions(mentors_only)
            seats, mentors, present = await self.load_changed(org_id, known, mentors_only)
            self._note_others(org_id, previous, seats, started)
            previous.read_again(seats, mentors, present, started, mentors_only)
            loaded = previous
        else:
            seats, mentors = await self.load(org_id)
            if previous is not None:  # the first read of an org (a process starting) leaves nothing out
                self._note_others(org_id, previous, seats, started)
            loaded = _Org({s.id: s for s in seats}, {m.person_id: m for m in mentors}, started)
        for saved in self._recent.pop(org_id, {}).values():
            loaded.apply(saved)
        if previous is not None:
            loaded.stale, loaded.mentors_stale = previous.stale, previous.mentors_stale
        self._orgs[org_id] = loaded
        return loaded

    def _note_others(self, org_id: str, previous: _Org, seats: list[MenteeSeat], read_at: float) -> None:
        """Seats read at a version another process wrote: those it put in waiting are its to offer
        for a while; those it changed otherwise are no longer this process's own waiting seats."""
        written = self._written.setdefault(org_id, {})
        others = self._others.setdefault(org_id, {})
        for seat in seats:
            known = previous.seats.get(seat.id)
            if known is not None and known.version == seat.version:
                continue  # as read before
            mine = written.get(seat.id)
            if mine is not None and mine >= seat.version:
                continue  # this process's write, or older than one it made during the read
            written.pop(seat.id, None)
            if seat.status is SeatStatus.WAITING and others.get(seat.id, (None, 0.0))[0] != seat.version:
                others[seat.id] = (seat.version, read_at)

    def _left_to_others(self, org_id: str) -> dict[str, int]:
        """The seats left to others now (id -> the version they wrote); those whose grace is past
        are forgotten, and any run offers them."""
        others = self._others.get(org_id)
        if not others:
            return {}
        now = self.clock()
        for seat_id in [
            s for s, (_, read_at) in others.items() if now - read_at >= self.others_grace_seconds
        ]:
            del others[seat_id]
        return {seat_id: version for seat_id, (version, _) in others.items()}

    def saved(self, aggregate: MenteeSeat | MentorCandidate, document: Document) -> None:
        """An aggregate store saved this as `document`: keep the aggregate itself. Its callers do
        not change it after the write, and each later change works on one validated afresh
        (`AggregateStore.observe`). A copy validated from `document` was 108 of the 282 samples in
        pydantic's `model_validate` (3% of all) in a py-spy profile of the matching flood's two
        replicas, for objects nobody changes again."""
        if isinstance(aggregate, MenteeSeat):
            self._note_written(aggregate)
        recent, cached = self._recent.get(aggregate.org_id), self._orgs.get(aggregate.org_id)
        if recent is None and cached is None:
            return  # nobody looks at this org now
        if recent is not None:
            recent[aggregate.id] = aggregate
        if cached is not None:
            cached.apply(aggregate)

    def _note_written(self, seat: MenteeSeat) -> None:
        written = self._written.setdefault(seat.org_id, {})
        if seat.status is SeatStatus.WAITING:
            written[seat.id] = seat.version
        else:
            written.pop(seat.id, None)
        self._others.get(seat.org_id, {}).pop(seat.id, None)  # this process's own now

    def forget_document(self, document_id: str) -> None:
        """A candidate was deleted: read afresh the org that held it."""
        for org_id, cached in list(self._orgs.items()):
            if document_id in cached.seats or any(m.id == document_id for m in cached.mentors.values()):
                self.refresh(org_id)

    def refresh(self, org_id: str) -> None:
        """Read the org again next time (something changed that this process did not write)."""
        cached = self._orgs.get(org_id)
        if cached is not None:
            cached.stale = True

    def refresh_mentors(self, org_id: str) -> None:
        """Read the org's mentors again next time (a place the view had free was taken elsewhere:
        the other seats of the org need not be read for that)."""
        cached = self._orgs.get(org_id)
        if cached is not None:
            cached.mentors_stale = True

    def forget(self, org_id: str) -> None:
        """Read the org whole next time (something changed in it that raised no version)."""
        self._orgs.pop(org_id, None)
