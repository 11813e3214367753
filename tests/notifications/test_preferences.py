"""Quiet hours, digests, frequency caps and retries, with the clock as a parameter (domain)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mentorship_schemas.events import NotificationChannel
from notifications.domain.preferences import (
    CapCounter,
    Category,
    CategoryPreference,
    DigestMode,
    JoinDigest,
    Preferences,
    QuietHours,
    SendAt,
    Skip,
    check_frequency_cap,
    digest_slot,
    end_of_quiet_hours,
    is_quiet,
    next_attempt_at,
    plan_delivery,
    zone,
)

pytestmark = pytest.mark.fast
EMAIL = NotificationChannel.EMAIL
BERLIN = zone("Europe/Berlin")
NIGHT = QuietHours(start=time(22), end=time(7))
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]

moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
wall_times = st.times().map(lambda t: t.replace(microsecond=0, second=0))
quiet_hours = st.builds(QuietHours, start=wall_times, end=wall_times)


def test_email_during_the_night_waits_until_quiet_hours_end_in_the_recipients_timezone() -> None:
    # 23:30 in Berlin (22:30 UTC in winter): quiet until 07:00 Berlin = 06:00 UTC.
    plan = plan_delivery(
        EMAIL, CategoryPreference(quiet_hours=NIGHT), BERLIN, now=datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
    )
    assert plan == SendAt(datetime(2026, 11, 27, 6, tzinfo=UTC))


def test_early_morning_quiet_hours_end_the_same_day() -> None:
    plan = plan_delivery(
        EMAIL, CategoryPreference(quiet_hours=NIGHT), BERLIN, now=datetime(2026, 11, 27, 3, tzinfo=UTC)
    )
    assert plan == SendAt(datetime(2026, 11, 27, 6, tzinfo=UTC))


def test_in_app_ignores_quiet_hours_and_digests() -> None:
    now = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
    preference = CategoryPreference(quiet_hours=NIGHT, digest=DigestMode.DAILY)
    assert plan_delivery(NotificationChannel.IN_APP, preference, BERLIN, now=now) == SendAt(now)


def test_channel_switched_off_is_skipped() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert isinstance(plan_delivery(EMAIL, CategoryPreference(email=False), UTC, now=now), Skip)


def test_preferences_are_per_category() -> None:
    preferences = Preferences(categories={Category.PROGRESS: CategoryPreference(chat=False)})
    assert preferences.for_category(Category.PROGRESS).allows(NotificationChannel.CHAT) is False
    assert preferences.for_category(Category.SESSIONS).allows(NotificationChannel.CHAT) is True


def test_daily_digest_collects_messages_until_next_morning() -> None:
    plan = plan_delivery(
        EMAIL, CategoryPreference(digest=DigestMode.DAILY), BERLIN, now=datetime(2026, 11, 26, 12, tzinfo=UTC)
    )
    assert plan == JoinDigest(digest_slot(datetime(2026, 11, 26, 12, tzinfo=UTC), BERLIN, DigestMode.DAILY))
    assert isinstance(plan, JoinDigest)
    assert plan.slot.key == "daily:2026-11-27"
    assert plan.slot.due_at == datetime(2026, 11, 27, 7, tzinfo=UTC)  # 08:00 Berlin


def test_weekly_digest_goes_out_on_monday_morning() -> None:
    slot = digest_slot(datetime(2026, 11, 26, 12, tzinfo=UTC), UTC, DigestMode.WEEKLY)  # a Thursday
    assert slot.due_at == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert slot.key == "weekly:2026-11-30"


def test_digest_due_inside_quiet_hours_waits_for_them_to_end() -> None:
    preference = CategoryPreference(
        digest=DigestMode.DAILY, quiet_hours=QuietHours(start=time(22), end=time(9))
    )
    plan = plan_delivery(EMAIL, preference, UTC, now=datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert isinstance(plan, JoinDigest)
    assert plan.slot.due_at == datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_reminder_is_never_digested_and_beats_quiet_hours_when_waiting_would_be_too_late() -> None:
    now = datetime(2026, 11, 26, 23, tzinfo=UTC)
    preference = CategoryPreference(digest=DigestMode.DAILY, quiet_hours=NIGHT)
    starts = now + timedelta(hours=2)
    assert plan_delivery(EMAIL, preference, UTC, now=now, expires_at=starts) == SendAt(now)
    later = now + timedelta(days=2)
    assert plan_delivery(EMAIL, preference, UTC, now=now, expires_at=later) == SendAt(
        datetime(2026, 11, 27, 7, tzinfo=UTC)
    )


def test_reminder_waits_for_its_moment_and_is_skipped_once_expired() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    remind = now + timedelta(days=3)
    assert plan_delivery(EMAIL, CategoryPreference(), UTC, now=now, not_before=remind) == SendAt(remind)
    assert isinstance(plan_delivery(EMAIL, CategoryPreference(), UTC, now=now, expires_at=now), Skip)


def test_frequency_cap_defers_the_extra_message_to_the_next_local_day() -> None:
    now = datetime(2026, 11, 26, 20, tzinfo=UTC)  # 21:00 in Berlin
    first = check_frequency_cap(None, 2, now, BERLIN)
    second = check_frequency_cap(first.counter, 2, now, BERLIN)
    third = check_frequency_cap(second.counter, 2, now, BERLIN)
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert third.retry_at == datetime(2026, 11, 26, 23, tzinfo=UTC)  # midnight in Berlin
    next_day = check_frequency_cap(third.counter, 2, third.retry_at, BERLIN)
    assert next_day.allowed
    assert next_day.counter == CapCounter("2026-11-27", 1)


def test_retries_back_off_exponentially_then_give_up() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    delays = [
        next_attempt_at(n, now=now, max_attempts=5, backoff_seconds=30, backoff_max_seconds=100)
        for n in range(1, 6)
    ]
    assert [(d - now).total_seconds() for d in delays[:4] if d] == [30, 60, 100, 100]
    assert delays[4] is None


def test_unknown_timezone_falls_back_to_utc() -> None:
    assert zone("Mars/Olympus") is UTC
    assert zone(None) is UTC


@settings(max_examples=300, deadline=None)
@given(moment=moments, tz_name=st.sampled_from(ZONES), quiet=quiet_hours)
def test_end_of_quiet_hours_is_never_earlier_never_quiet_and_within_a_day(
    moment: datetime, tz_name: str, quiet: QuietHours
) -> None:
    tz = zone(tz_name)
    end = end_of_quiet_hours(moment, tz, quiet)
    assert end >= moment
    assert not is_quiet(end, tz, quiet)
    assert end - moment <= timedelta(hours=26)
    if not is_quiet(moment, tz, quiet):
        assert end == moment
    assert end_of_quiet_hours(end, tz, quiet) == end


@settings(max_examples=300, deadline=None)
@given(
    moment=moments,
    tz_name=st.sampled_from(ZONES),
    mode=st.sampled_from([DigestMode.DAILY, DigestMode.WEEKLY]),
    hour=st.integers(0, 23),
)
def test_digest_slot_is_after_the_message_and_within_its_period(
    moment: datetime, tz_name: str, mode: DigestMode, hour: int
) -> None:
    tz = zone(tz_name)
    slot = digest_slot(moment, tz, mode, time(hour))
    assert slot.due_at > moment
    assert slot.due_at - moment <= timedelta(days=1 if mode is DigestMode.DAILY else 7, hours=2)
    # Every message up to the due moment joins the same summary: one key per period.
    assert digest_slot(slot.due_at - timedelta(seconds=1), tz, mode, time(hour)).key == slot.key


@settings(max_examples=200, deadline=None)
@given(
    now=moments,
    tz_name=st.sampled_from(ZONES),
    quiet=st.none() | quiet_hours,
    digest=st.sampled_from(list(DigestMode)),
    not_before=st.none() | st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=3)),
    expires=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)),
    channel=st.sampled_from(list(NotificationChannel)),
)
def test_a_plan_never_sends_before_now_nor_before_its_moment_nor_after_it_expired(
    now: datetime,
    tz_name: str,
    quiet: QuietHours | None,
    digest: DigestMode,
    not_before: timedelta | None,
    expires: timedelta | None,
    channel: NotificationChannel,
) -> None:
    tz = zone(tz_name)
    earliest = now + not_before if not_before is not None else None
    expires_at = now + expires if expires is not None else None
    plan = plan_delivery(
        channel,
        CategoryPreference(quiet_hours=quiet, digest=digest),
        tz,
        now=now,
        not_before=earliest,
        expires_at=expires_at,
    )
    if isinstance(plan, Skip):
        assert expires_at is not None
        assert max(now, earliest or now) >= expires_at
        return
    at = plan.at if isinstance(plan, SendAt) else plan.slot.due_at
    assert at >= now
    assert earliest is None or at >= earliest
    if expires_at is not None:
        assert isinstance(plan, SendAt)
        assert at < expires_at
    if isinstance(plan, JoinDigest):
        assert channel is not NotificationChannel.IN_APP
        assert digest is not DigestMode.OFF


@settings(max_examples=200, deadline=None)
@given(
    start=moments,
    steps=st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=9)), max_size=40),
    cap=st.integers(1, 5),
    tz_name=st.sampled_from(ZONES),
)
def test_frequency_cap_never_lets_more_than_the_cap_through_on_one_local_day(
    start: datetime, steps: list[timedelta], cap: int, tz_name: str
) -> None:
    tz = zone(tz_name)
    counter: CapCounter | None = None
    sent_per_day: dict[str, int] = {}
    moment = start
    for step in steps:
        moment += step
        decision = check_frequency_cap(counter, cap, moment, tz)
        counter = decision.counter
        if decision.allowed:
            day = moment.astimezone(tz).date().isoformat()
            sent_per_day[day] = sent_per_day.get(day, 0) + 1
        else:
            assert decision.retry_at is not None
            assert decision.retry_at > moment
    assert all(n <= cap for n in sent_per_day.values())
