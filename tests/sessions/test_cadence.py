"""Cadence scheduling: the agreed rhythm, at the agreed wall-clock time, in the agreed timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mentorship_schemas.events import Cadence
from sessions.domain.cadence import (
    UnknownTimezone,
    add_months,
    first_local_start,
    local_occurrence,
    local_times,
    occurrences,
    to_utc,
    zone,
)

pytestmark = pytest.mark.fast

ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo"]
HOUR = timedelta(hours=1)


def test_weekly_series_keeps_ten_oclock_in_new_york_across_the_dst_change() -> None:
    tz = ZoneInfo("America/New_York")
    first = datetime(2026, 10, 27, 10, 0)  # a Tuesday, EDT (UTC-4)
    found = occurrences(first, tz, Cadence.WEEKLY, HOUR, start_index=0, count=3)
    assert [o.starts_at.astimezone(tz).hour for o in found] == [10, 10, 10]
    assert found[0].starts_at == datetime(2026, 10, 27, 14, 0, tzinfo=UTC)
    assert found[1].starts_at == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # EST (UTC-5) now
    assert all(o.ends_at - o.starts_at == HOUR for o in found)


def test_monthly_series_on_the_31st_falls_back_to_the_last_day_of_short_months() -> None:
    first = datetime(2026, 1, 31, 9, 30)
    days = [local_occurrence(first, Cadence.MONTHLY, n).date() for n in range(4)]
    assert days == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_quarterly_is_every_three_months_and_biweekly_every_fourteen_days() -> None:
    first = datetime(2026, 11, 15, 14, 0)
    assert local_occurrence(first, Cadence.QUARTERLY, 1) == datetime(2027, 2, 15, 14, 0)
    assert local_occurrence(first, Cadence.BIWEEKLY, 2) == datetime(2026, 12, 13, 14, 0)


def test_series_stops_at_the_agreements_end() -> None:
    first = datetime(2026, 11, 2, 10, 0)
    until = datetime(2026, 11, 20, tzinfo=UTC)
    found = occurrences(first, ZoneInfo("UTC"), Cadence.WEEKLY, HOUR, start_index=0, count=10, until=until)
    assert [o.index for o in found] == [0, 1, 2]


def test_first_start_is_the_next_agreed_weekday_strictly_after_now() -> None:
    tz = ZoneInfo("Europe/London")
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # Thursday 10:00 in London
    assert first_local_start(now, tz, time(10, 0)) == datetime(2026, 11, 27, 10, 0)
    assert first_local_start(now, tz, time(11, 0)) == datetime(2026, 11, 26, 11, 0)
    assert first_local_start(now, tz, time(9, 0), weekday=0) == datetime(2026, 11, 30, 9, 0)


def test_a_time_skipped_by_daylight_saving_moves_forward_by_the_gap() -> None:
    tz = ZoneInfo("Europe/London")
    assert to_utc(datetime(2026, 3, 29, 1, 30), tz) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_each_participant_sees_the_session_in_their_own_timezone() -> None:
    starts = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    shown = local_times(starts, starts + HOUR, {"ada": "Europe/London", "grace": "America/New_York"})
    assert shown["ada"]["starts_at"] == "2026-12-01T15:00:00+00:00"
    assert shown["grace"]["starts_at"] == "2026-12-01T10:00:00-05:00"


def test_unknown_timezone_is_rejected() -> None:
    with pytest.raises(UnknownTimezone):
        zone("Mars/Olympus")


@settings(max_examples=200, deadline=None)
@given(
    first=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    tz_name=st.sampled_from(ZONES),
    cadence=st.sampled_from(list(Cadence)),
    count=st.integers(min_value=1, max_value=30),
)
def test_series_is_strictly_increasing_and_keeps_its_wall_clock_time(
    first: datetime, tz_name: str, cadence: Cadence, count: int
) -> None:
    first = first.replace(second=0, microsecond=0)
    tz = ZoneInfo(tz_name)
    found = occurrences(first, tz, cadence, HOUR, start_index=0, count=count)
    assert [o.index for o in found] == list(range(count))
    starts = [o.starts_at for o in found]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    for o in found:
        local = local_occurrence(first, cadence, o.index)
        shown = o.starts_at.astimezone(tz).replace(tzinfo=None)
        # Equal, except where DST skipped that wall time: then at most the gap (an hour) later.
        assert timedelta(0) <= shown - local <= HOUR


@settings(max_examples=200, deadline=None)
@given(
    first=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    tz_name=st.sampled_from(ZONES),
    n=st.integers(min_value=0, max_value=60),
)
def test_weekly_and_biweekly_gaps_are_whole_local_weeks(first: datetime, tz_name: str, n: int) -> None:
    assert (
        local_occurrence(first, Cadence.WEEKLY, n + 1) - local_occurrence(first, Cadence.WEEKLY, n)
    ).days == 7
    assert (
        local_occurrence(first, Cadence.BIWEEKLY, n + 1) - local_occurrence(first, Cadence.BIWEEKLY, n)
    ).days == 14


@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)), months=st.integers(0, 240))
def test_adding_months_keeps_the_day_or_the_last_day_of_the_month(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    tz_name=st.sampled_from(ZONES),
    weekday=st.one_of(st.none(), st.integers(0, 6)),
    at=st.times(),
)
def test_first_start_is_after_now_and_within_eight_days(
    now: datetime, tz_name: str, weekday: int | None, at: time
) -> None:
    tz = ZoneInfo(tz_name)
    first = first_local_start(now, tz, at, weekday)
    assert to_utc(first, tz) > now
    assert to_utc(first, tz) - now <= timedelta(days=8)
    if weekday is not None:
        assert first.weekday() == weekday
