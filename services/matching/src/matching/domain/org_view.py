"""One read of an org's candidates: who waits where, who mentors, the reporting lines; and what the
engine needs from it for one program (the waiting seats, the mentors it admits with their load)."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mentorship_schemas.events import PersonRole

from matching.domain.candidate import ProfileFacts, utc_offset_minutes
from matching.domain.cohort import MatchProfile
from matching.domain.compatibility import Explanation
from matching.domain.mentor import UNBACKED_PLACE_GRACE, MentorCandidate
from matching.domain.program import MAX_MENTORS_PER_MENTEE, Program
from matching.domain.rules import Rule
from matching.domain.seat import MenteeSeat, SeatStatus, seat_key
from matching.domain.semantic_goals import SemanticGoals
from matching.domain.suggestions import rank_mentors, why_not
from matching.domain.unmatched import explain_unmatched


@dataclass
class MentorProfiles:
    """Mentors' match profiles as last built, by person, for views that hold their mentors as
    copies replaced (never changed) when a mentor is saved: a profile is built again only for
    another mentor object, UTC offset or program load. Every continuous run needs the profile of
    every mentor with a free place, and between two runs few mentors change.

    A mentor whose record changed but whose facts did not (a place taken or given back, an
    availability: most of a run's mentors in a flood with two replicas, changed by this process's
    offers or the other's) keeps the profile's facts: it is copied with the new places and
    availability (about 2.6 us with the facts compared, against 5.9 us to build it)."""

    _built: dict[str, tuple[MentorCandidate, int, int, MatchProfile, tuple[object, ...]]] = field(
        default_factory=dict
    )

    def of(
        self,
        mentor: MentorCandidate,
        at: datetime,
        program_load: int,
        offsets: dict[str | None, int] | None = None,
    ) -> MatchProfile:
        """`offsets`: each time zone's offset at `at`, kept across the calls of one run."""
        offsets = {} if offsets is None else offsets
        if mentor.timezone not in offsets:
            offsets[mentor.timezone] = utc_offset_minutes(mentor.timezone, at)
        offset = offsets[mentor.timezone]
        known = self._built.get(mentor.person_id)
        if known is not None and known[0] is mentor and known[1:3] == (offset, program_load):
            return known[3]
        facts = _facts_of(mentor)
        if known is not None and known[1] == offset and known[4] == facts:
            profile = known[3].taking(mentor.accepting_mentees_in_runs, mentor.free_slots, program_load)
        else:
            profile = mentor.match_profile_in(at, program_load)
        self._built[mentor.person_id] = (mentor, offset, program_load, profile, facts)
        return profile

    def keep_only(self, person_ids: Iterable[str]) -> None:
        """Forget the profiles of mentors no longer there (erased)."""
        kept = set(person_ids)
        for person_id in [p for p in self._built if p not in kept]:
            del self._built[person_id]


# What a mentor's profile takes from their record besides places and availability (`match_profile_in`).
_facts_of = operator.attrgetter("person_id", "org_id", *ProfileFacts.model_fields)


def managers_of(seats: Iterable[MenteeSeat], mentors: Iterable[MentorCandidate]) -> dict[str, str]:
    """Each person's manager, by person (a mentor's record over their seats')."""
    return {c.person_id: c.manager_id for c in [*seats, *mentors] if c.manager_id}


@dataclass(frozen=True)
class KeptParts:
    """What a view's maker kept of the org as it changed (org_views.py), so that the view need not
    find it among all the org's candidates: its waiting seats, its mentors with a free place (by
    person) and the people with a focus seat (numbered 2 and on)."""

    waiting: list[MenteeSeat]
    free_mentors: dict[str, MentorCandidate]
    focused: set[str]
    # The mentor holding a place for each waiting seat that has one (an offer under way).
    under_way: dict[str, str]
    # Each program's paired and held seats by mentor (`seat_load`), waiting seats not counted.
    loads: dict[str, Counter[str]]


def seat_load(seat: MenteeSeat) -> tuple[str, str] | None:
    """The program and mentor a paired or held seat counts for in that mentor's program load."""
    if seat.status is SeatStatus.PAIRED and seat.pair is not None:
        return seat.pair.program_id, seat.pair.mentor_id
    if seat.status is SeatStatus.HELD and seat.hold is not None:
        return seat.hold.program_id, seat.hold.mentor_id
    return None


@dataclass
class OrgView:
    """Mentee seats are keyed by their id (a person has one per focus area), mentors by person."""

    org_id: str
    seats: dict[str, MenteeSeat]
    mentors: dict[str, MentorCandidate]
    managers: dict[str, str]
    # The org's embedded profiles, when it has any: the goals component is semantic for them.
    semantic: SemanticGoals | None = None
    # Shared by the views of one load of the org (see `MentorProfiles`); a view of its own otherwise.
    profiles: MentorProfiles = field(default_factory=MentorProfiles, repr=False)
    # Waiting seats another process put in waiting just now (id -> the version it wrote): its
    # continuous runs offer them (org_views.py); this process's leave them out for a while.
    left_to_others: dict[str, int] = field(default_factory=dict, repr=False)
    # Given by a maker that keeps them as the org changes; else worked out from the whole view.
    kept: KeptParts | None = field(default=None, repr=False)
    # Worked out once per view (a run asks several times; the view does not change):
    _placed: dict[str, str] | None = field(default=None, init=False, repr=False)
    _focused: set[str] | None = field(default=None, init=False, repr=False)
    _waiting: list[MenteeSeat] | None = field(default=None, init=False, repr=False)
    _loads: dict[str, Counter[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kept is not None:
            self._waiting, self._focused = self.kept.waiting, self.kept.focused

    @classmethod
    def of(
        cls,
        org_id: str,
        seats: Iterable[MenteeSeat],
        mentors: Iterable[MentorCandidate],
        profiles: MentorProfiles | None = None,
    ) -> OrgView:
        seat_list, mentor_list = list(seats), list(mentors)
        managers = managers_of(seat_list, mentor_list)
        return cls(
            org_id,
            {seat.id: seat for seat in seat_list},
            {mentor.person_id: mentor for mentor in mentor_list},
            managers,
            profiles=profiles or MentorProfiles(),
        )

    def mentors_with_unbacked_places(self, now: datetime) -> list[str]:
        """Mentors holding a place, past the grace period, that no seat of this view holds with
        them (a crash between an offer's two writes): candidates for `reconcile_places`, which
        checks them against the store."""

        def unbacked(mentor: MentorCandidate) -> bool:
            for place in mentor.places:
                if now - place.taken_at < UNBACKED_PLACE_GRACE:
                    continue
                seat = self.seats.get(place.seat_id)
                if seat is None or seat.current_mentor() != mentor.person_id:
                    return True
            return False

        return sorted(mentor.person_id for mentor in self.mentors.values() if unbacked(mentor))

    def seat(self, person_id: str, number: int = 1) -> MenteeSeat | None:
        return self.seats.get(seat_key(self.org_id, person_id, number))

    def seats_of(self, person_id: str) -> list[MenteeSeat]:
        """The person's seats, by number, looked up by their ids. A run asks for every waiting
        seat's person: with every seat of the org indexed by person instead, a run of 2,000 waiting
        seats among 10,000 (and 5,000 mentors) took 14 ms for them against 4 ms, of 34 ms for all
        it reads of its view (a microbenchmark)."""
        numbers = range(1, MAX_MENTORS_PER_MENTEE + 1) if person_id in self._focused_people() else (1,)
        keys = (seat_key(self.org_id, person_id, number) for number in numbers)
        return [seat for key in keys if (seat := self.seats.get(key)) is not None]

    def offer_under_way(self, seat: MenteeSeat) -> str | None:
        """The mentor holding a place for this waiting seat: an offer whose place is taken and
        whose seat is still being written (or one a crash cut short, until its place goes back).
        A continuous run leaves the seat to that offer, and counts the place as the mentor's."""
        if seat.status is not SeatStatus.WAITING:
            return None
        if self.kept is not None:
            return self.kept.under_way.get(seat.id)
        if self._placed is None:  # built once per view, from every mentor's places
            self._placed = {
                place.seat_id: mentor.person_id for mentor in self.mentors.values() for place in mentor.places
            }
        return self._placed.get(seat.id)

    def waiting_in(self, program: Program, seat: int | None = None) -> list[MenteeSeat]:
        """The program's waiting seats (at `seat`, or all), longest waiting first."""
        if self._waiting is None:  # most of the org's seats are paired: they are passed over once
            self._waiting = [s for s in self.seats.values() if s.status is SeatStatus.WAITING]
        return sorted(
            (
                s
                for s in self._waiting
                if s.program_id == program.program_id
                and program.admits(s.person_id, PersonRole.MENTEE)
                and (seat is None or s.seat == seat)
                and s.seat <= program.mentors_per_mentee
            ),
            key=lambda s: (str(s.waiting_since), s.person_id, s.seat),
        )

    def waiting_to_offer(self, program: Program, seat: int) -> list[MenteeSeat]:
        """`waiting_in` for this process's continuous run: less the seats left to others and those
        an offer is under way for."""
        others = self.left_to_others
        return [
            s
            for s in self.waiting_in(program, seat)
            if others.get(s.id) != s.version and self.offer_under_way(s) is None
        ]

    def paired_in(self, program: Program, seat: int) -> list[MenteeSeat]:
        """The program's current pairs at this seat whose mentor takes mentees now: those a run
        asked not to keep existing pairs reconsiders."""
        return [
            s
            for s in self.seats.values()
            if s.status is SeatStatus.PAIRED
            and s.pair is not None
            and s.pair.program_id == program.program_id
            and s.seat == seat
            and (mentor := self.mentors.get(s.pair.mentor_id)) is not None
            and mentor.takes_mentees
        ]

    def excluded_for(self, seat: MenteeSeat) -> list[str]:
        """Mentors this seat must not get: its own exclusions, and the mentors the person has (or
        is being offered) in their other seats, so each focus area gets a different mentor."""
        if seat.person_id not in self._focused_people():
            return seat.excluded_mentors()  # their one seat: no other seat's mentor to add
        taken = {
            mentor
            for other in self.seats_of(seat.person_id)
            if other.id != seat.id
            and (mentor := other.current_mentor() or self.offer_under_way(other)) is not None
        }
        return sorted(set(seat.excluded_mentors()) | taken)

    def program_load(self, program_id: str) -> Counter[str]:
        """Mentees each mentor has (or holds a place for) in this program (not to be changed)."""
        known = self._loads.get(program_id)
        if known is not None:
            return known
        load: Counter[str] = Counter()
        if self.kept is not None:
            load.update(self.kept.loads.get(program_id, {}))
            waiting: Iterable[MenteeSeat] = self.kept.waiting
        else:
            waiting = self.seats.values()
            for seat in waiting:
                held = seat_load(seat)
                if held is not None and held[0] == program_id:
                    load[held[1]] += 1
        for seat in waiting:
            if (
                seat.status is SeatStatus.WAITING
                and seat.program_id == program_id
                and (mentor_id := self.offer_under_way(seat))
            ):
                load[mentor_id] += 1
        self._loads[program_id] = load
        return load

    def mentor_profiles(
        self, program: Program, at: datetime, *, with_free_places: bool = False
    ) -> list[MatchProfile]:
        """The program's mentors (`with_free_places`: only those with a place free, the only ones
        a run can pair: late in a flood most are full, and their profiles were built for nothing)."""
        load = self.program_load(program.program_id)
        offsets: dict[str | None, int] = {}
        return [
            self.profiles.of(mentor, at, load[mentor.person_id], offsets)
            for mentor in (self._free_mentors() if with_free_places else self.mentors.values())
            if program.admits(mentor.person_id, PersonRole.MENTOR)
        ]

    def offers_possible(self, program: Program) -> bool:
        """Some mentor of the program has a free place (free places imply taking mentees)."""
        return any(program.admits(mentor.person_id, PersonRole.MENTOR) for mentor in self._free_mentors())

    def has_focus_seats(self) -> bool:
        """Whether anyone in the org has a seat for a focus area (numbered 2 and on)."""
        return bool(self._focused_people())

    def _free_mentors(self) -> Iterable[MentorCandidate]:
        """The mentors with a free place, in the view's order of mentors (a run's order of mentors
        decides between those who score alike)."""
        if self.kept is not None:
            free = self.kept.free_mentors
            return (mentor for key, mentor in self.mentors.items() if key in free)
        return (mentor for mentor in self.mentors.values() if mentor.free_slots > 0)

    def _focused_people(self) -> set[str]:
        if self._focused is None:  # the few people with a focus seat (numbered 2 and on)
            self._focused = {seat.person_id for seat in self.seats.values() if seat.seat != 1}
        return self._focused

    def goals_of(
        self, mentees: Iterable[MatchProfile], mentors: Iterable[MatchProfile]
    ) -> SemanticGoals | None:
        """The embedded profiles of a run over these people (None when the org has none)."""
        if self.semantic is None:
            return None
        return self.semantic.of((p.person_id for p in mentees), (p.person_id for p in mentors))

    def continuous_goals(
        self, mentees: Iterable[MatchProfile], mentors: Iterable[MatchProfile]
    ) -> SemanticGoals | None:
        """`goals_of` for a continuous run, or None when none of its mentees has vectors: a pair is
        semantic only when both people have them, so such a run scores goals on TF-IDF alone with
        or without them (`SemanticGoals.applied_to`, and the reasons: shared words either way),
        and its mentors' vectors went to the engine's process for nothing. A continuous run keeps
        no input digest (a stored cohort run does: `goals_of`, whose digest names the mentors'
        vectors too)."""
        if self.semantic is None:
            return None
        mentee_ids = [p.person_id for p in mentees]
        if not any(person_id in self.semantic.mentees for person_id in mentee_ids):
            return None
        return self.semantic.of(mentee_ids, (p.person_id for p in mentors))

    def previous_pairs(self, seats: Iterable[MenteeSeat]) -> list[tuple[str, str]]:
        return [(seat.person_id, mentor) for seat in seats for mentor in self.excluded_for(seat)]

    def suggestions(
        self, program: Program, seat: MenteeSeat, at: datetime, limit: int = 10
    ) -> list[Explanation]:
        """The seat's best mentors in this program, best first, never one it must not get (again)."""
        return rank_mentors(
            program.policy(),
            seat.match_profile_now(at),
            self.mentor_profiles(program, at),
            managers=self.managers,
            excluded_mentors=self.excluded_for(seat),
            limit=limit,
            goals=self.semantic,
        )

    def why_unmatched(self, program: Program, seat: MenteeSeat, at: datetime) -> tuple[Rule, str]:
        """Why no mentor of this program is possible for this seat now: the rule, in a sentence."""
        return explain_unmatched(
            program.policy(),
            seat.match_profile_now(at),
            self.mentor_profiles(program, at),
            managers=self.managers,
            excluded_mentors=self.excluded_for(seat),
        )

    def why_not(self, program: Program, seat: MenteeSeat, mentor_id: str, at: datetime) -> str | None:
        """Why this seat may not ask this mentor in this program, in words; None when it may."""
        mentor = next((p for p in self.mentor_profiles(program, at) if p.person_id == mentor_id), None)
        if mentor is None:
            return None
        return why_not(
            program.policy(),
            seat.match_profile_now(at),
            mentor,
            managers=self.managers,
            excluded_mentors=self.excluded_for(seat),
        )
