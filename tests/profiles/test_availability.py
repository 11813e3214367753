"""Mentor availability transitions (domain, no I/O)."""

from __future__ import annotations

import pytest
from profiles.domain.availability import Availability, MentorLoad, transition

pytestmark = pytest.mark.fast


def load(active: int, capacity: int = 2, accepting: bool = True, is_mentor: bool = True) -> MentorLoad:
    return MentorLoad(is_mentor=is_mentor, accepting=accepting, capacity=capacity, active_mentees=active)


def test_mentor_below_capacity_and_accepting_is_available() -> None:
    assert load(1).availability is Availability.AVAILABLE


@pytest.mark.parametrize(
    ("mentor", "expected"),
    [
        (load(2), Availability.AT_CAPACITY),
        (load(0, accepting=False), Availability.PAUSED),
        (load(0, capacity=0), Availability.AT_CAPACITY),
        (load(0, is_mentor=False), Availability.NOT_A_MENTOR),
    ],
)
def test_unavailable_reasons(mentor: MentorLoad, expected: Availability) -> None:
    assert mentor.availability is expected


def test_reaching_capacity_announces_unavailable_once() -> None:
    assert transition(load(1), load(2)) is Availability.AT_CAPACITY
    assert transition(load(2), load(3)) is None, "already unavailable: never announce twice"


def test_freeing_a_slot_announces_available() -> None:
    assert transition(load(2), load(1)) is Availability.AVAILABLE
    assert transition(load(1), load(0)) is None


def test_pausing_while_at_capacity_is_not_a_new_announcement() -> None:
    assert transition(load(2), load(2, accepting=False)) is None


def test_a_new_capacity_of_a_mentor_who_stays_available_is_announced_but_a_new_load_is_not() -> None:
    assert transition(load(1, capacity=2), load(1, capacity=3)) is Availability.AVAILABLE
    assert transition(load(1, capacity=3), load(1, capacity=2)) is Availability.AVAILABLE
    assert transition(load(2, capacity=3), load(2, capacity=2)) is Availability.AT_CAPACITY
    assert transition(load(0, capacity=3), load(1, capacity=3)) is None
