"""A mentor as matching sees them: their facts, whether they take mentees now, their capacity, and
the places taken in it.

Profiles announces availability and capacity (MentorAvailable / MentorUnavailable, versioned apart
from the facts: both may come at the same profile version). The places are matching's own: one per
mentee seat that holds one (a pair, a proposal or a request), named by the seat's id, taken before
an offer and given back when the offer or the pair ends. A set, not a counter: taking or giving
back the same place twice changes nothing, and profiles' count of active mentees (a snapshot from
when it handled an earlier PairCreated / PairEnded) never overwrites what matching did since."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from mentorship_schemas.events import PersonRole
from pydantic import BaseModel, Field, computed_field
from servicekit.aggregates import Emitted

from matching.domain.candidate import Candidate
from matching.domain.cohort import MatchProfile


class MentorStatus(StrEnum):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"


# MentorUnavailable's reason when the mentor leaves the platform: their pairs end too.
LEFT = "left"
AT_CAPACITY = "at_capacity"
# A place taken for an offer whose seat does not (yet) show it is dropped by a reconciliation only
# after this long: until then the offer may still be on its way to the seat.
UNBACKED_PLACE_GRACE = timedelta(minutes=10)


class Place(BaseModel):
    """One place taken in a mentor's capacity, by the seat whose offer or pair holds it."""

    seat_id: str
    taken_at: datetime


def mentor_key(org_id: str, person_id: str) -> str:
    return f"{org_id}:{person_id}:{PersonRole.MENTOR.value}"


class MentorCandidate(Candidate):
    role: PersonRole = PersonRole.MENTOR
    status: MentorStatus = MentorStatus.UNAVAILABLE
    capacity: int | None = None
    # The seats that hold one of this mentor's places (a list: seat ids may contain dots).
    places: list[Place] = Field(default_factory=list)
    unavailable_reason: str | None = None
    availability_version: int = 0

    @classmethod
    def new(cls, org_id: str, person_id: str) -> MentorCandidate:
        """Known by an availability before the facts arrive, or by the facts before any availability."""
        return cls(id=mentor_key(org_id, person_id), org_id=org_id, person_id=person_id)

    @property
    def takes_mentees(self) -> bool:
        return self.status is MentorStatus.AVAILABLE

    # Stored too, so the store's readers (and people looking at it) see it without computing.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def free_slots(self) -> int:
        """Places left for new offers: the capacity less the places taken (none while unavailable)."""
        if not self.takes_mentees or self.capacity is None:
            return 0
        return max(0, self.capacity - len(self.places))

    @property
    def load(self) -> int:
        """Places taken: pairs, and proposals and requests awaiting an answer."""
        return len(self.places)

    def announce_available(self, version: int, capacity: int) -> list[Emitted]:
        """Profiles' MentorAvailable, unless a newer availability was applied (stale or repeat).
        Only the capacity is taken: the places taken are matching's own count."""
        if version <= self.availability_version:
            return []
        self.status, self.capacity, self.unavailable_reason = MentorStatus.AVAILABLE, capacity, None
        self.availability_version = version
        return []

    def announce_unavailable(self, version: int, reason: str) -> list[Emitted]:
        if version <= self.availability_version:
            return []
        self.status, self.unavailable_reason = MentorStatus.UNAVAILABLE, reason
        self.availability_version = version
        return []

    def reserve_place(self, seat_id: str, now: datetime) -> tuple[bool, list[Emitted]]:
        """Take a place for this seat's offer; False (and nothing changes) when there is none, or
        when the seat holds one already (another offer of the same seat is under way)."""
        taken, _ = self.reserve_places([seat_id], now)
        return bool(taken), []

    def reserve_places(self, seat_ids: list[str], now: datetime) -> tuple[list[str], list[Emitted]]:
        """`reserve_place` for several seats in turn: the seats that got a place, in order (those
        after the last free place, or holding one already, did not)."""
        taken = []
        for seat_id in seat_ids:
            if self.free_slots <= 0 or self.holds_place(seat_id):
                continue
            self.places = [*self.places, Place(seat_id=seat_id, taken_at=now)]
            taken.append(seat_id)
        return taken, []

    def holds_place(self, seat_id: str) -> bool:
        return any(place.seat_id == seat_id for place in self.places)

    def give_back_place(self, seat_id: str) -> list[Emitted]:
        """The seat's offer or pair ended: its place is free (again: a repeat changes nothing)."""
        return self.give_back_places([seat_id])

    def give_back_places(self, seat_ids: list[str]) -> list[Emitted]:
        """`give_back_place` for several seats at once."""
        self.places = [place for place in self.places if place.seat_id not in seat_ids]
        return []

    def reconcile_places(self, held_by: set[str], now: datetime) -> tuple[list[str], list[Emitted]]:
        """Agree with the seats read just before: a seat that holds this mentor (paired or held)
        has its place, and a place no seat holds goes once it is older than the grace period (a
        crash between an offer's two writes, or between a pair's end and its place's return).
        Returns the seats given a place here: their caller checks they still hold the mentor (a
        pair may have ended, and its place been given back, since the seats were read)."""
        kept = [p for p in self.places if p.seat_id in held_by or now - p.taken_at < UNBACKED_PLACE_GRACE]
        added = sorted(held_by - {place.seat_id for place in kept})
        self.places = kept + [Place(seat_id=seat, taken_at=now) for seat in added]
        return added, []

    @property
    def accepting_mentees_in_runs(self) -> bool:
        """Whether the engine sees this mentor take mentees: one unavailable only because they are
        full still does (the rule that applies is their free places, so a mentee hears "full",
        not "not accepting")."""
        return self.takes_mentees or self.unavailable_reason == AT_CAPACITY

    def match_profile_in(self, at: datetime, program_load: int) -> MatchProfile:
        return self.match_profile(
            at,
            accepting_mentees=self.accepting_mentees_in_runs,
            free_capacity=self.free_slots,
            program_load=program_load,
        )
