"""Missed-session rules with the clock as a parameter (domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sessions.domain.attendance import is_missed, sessions_missed_in_a_row
from sessions.domain.statuses import SessionStatus

pytestmark = pytest.mark.fast

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=30)


def test_session_is_missed_only_after_its_end_plus_grace() -> None:
    ends = NOON
    assert not is_missed(SessionStatus.SCHEDULED, ends, NOON + GRACE - timedelta(seconds=1), GRACE)
    assert is_missed(SessionStatus.SCHEDULED, ends, NOON + GRACE, GRACE)


def test_held_or_cancelled_session_is_never_missed() -> None:
    later = NOON + timedelta(days=30)
    assert not is_missed(SessionStatus.HELD, NOON, later, GRACE)
    assert not is_missed(SessionStatus.CANCELLED, NOON, later, GRACE)


def test_second_missed_session_counts_two_in_a_row() -> None:
    assert sessions_missed_in_a_row([]) == 1
    assert sessions_missed_in_a_row([SessionStatus.MISSED]) == 2
    assert sessions_missed_in_a_row([SessionStatus.MISSED, SessionStatus.HELD, SessionStatus.MISSED]) == 2
    assert sessions_missed_in_a_row([SessionStatus.CANCELLED, SessionStatus.MISSED]) == 2


@given(
    st.lists(
        st.sampled_from([SessionStatus.MISSED, SessionStatus.HELD, SessionStatus.CANCELLED]), max_size=30
    )
)
def test_run_of_misses_is_one_more_than_the_misses_before_the_last_held(earlier: list[str]) -> None:
    before_held = earlier[: earlier.index(SessionStatus.HELD)] if SessionStatus.HELD in earlier else earlier
    assert sessions_missed_in_a_row(earlier) == 1 + before_held.count(SessionStatus.MISSED)
