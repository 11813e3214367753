"""When a mentor counts as available, and which event a change of load or settings causes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Availability(StrEnum):
    AVAILABLE = "available"
    AT_CAPACITY = "at_capacity"
    PAUSED = "paused"
    NOT_A_MENTOR = "not_a_mentor"


@dataclass(frozen=True)
class MentorLoad:
    is_mentor: bool
    accepting: bool
    capacity: int
    active_mentees: int

    @property
    def availability(self) -> Availability:
        if not self.is_mentor:
            return Availability.NOT_A_MENTOR
        if not self.accepting:
            return Availability.PAUSED
        if self.active_mentees >= self.capacity:
            return Availability.AT_CAPACITY
        return Availability.AVAILABLE


def transition(before: MentorLoad | None, after: MentorLoad) -> Availability | None:
    """The availability to announce, or None when it did not change (never announce twice). A mentor
    who stays available with a new capacity is announced again: matching counts places from it."""
    was = before.availability if before else Availability.NOT_A_MENTOR
    now = after.availability
    if now == was:
        capacity_changed = before is not None and before.capacity != after.capacity
        return now if now is Availability.AVAILABLE and capacity_changed else None
    if now is Availability.NOT_A_MENTOR and was is not Availability.AVAILABLE:
        return None
    if was is not Availability.AVAILABLE and now is not Availability.AVAILABLE:
        return None  # unavailable for another reason is still unavailable
    return now
