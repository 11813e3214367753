"""Cadence scheduling: the dates a pair meets on, on its agreed cadence, at a wall-clock time in
the timezone the agreement names (so 10:00 stays 10:00 across daylight-saving changes), and when
each meeting falls in every participant's own timezone.

Occurrence n is computed from the first one (never from the previous), so months of different
lengths and DST shifts never make the series drift.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentorship_schemas.events import Cadence

# The nominal length of one cadence period, for rules measured "in cadences" (stagnation).
NOMINAL_PERIOD: dict[Cadence, timedelta] = {
    Cadence.WEEKLY: timedelta(days=7),
    Cadence.BIWEEKLY: timedelta(days=14),
    Cadence.MONTHLY: timedelta(days=30),
    Cadence.QUARTERLY: timedelta(days=91),
}


class UnknownTimezone(ValueError):
    pass


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`, or UnknownTimezone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimezone(f"unknown timezone {name!r}") from error


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """`day` moved by `months`, keeping the anchor day of month where the month has it (31 Jan + 1
    month = 28/29 Feb; + 2 months = 31 Mar)."""
    wanted = anchor_day or day.day
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(wanted, calendar.monthrange(year, month0 + 1)[1]))


def local_occurrence(first: datetime, cadence: Cadence, n: int) -> datetime:
    """The n-th (0-based) wall-clock start of a series whose first start is `first` (naive, local)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if cadence is Cadence.WEEKLY:
        return first + timedelta(days=7 * n)
    if cadence is Cadence.BIWEEKLY:
        return first + timedelta(days=14 * n)
    months = n if cadence is Cadence.MONTHLY else 3 * n
    return datetime.combine(add_months(first.date(), months, first.day), first.time())


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in `tz` as a UTC instant. An ambiguous time (the repeated hour in
    autumn) takes its first occurrence; a time that does not exist (the skipped spring hour) is
    moved forward by the gap, as calendar applications do."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def first_local_start(after: datetime, tz: ZoneInfo, at: time, weekday: int | None = None) -> datetime:
    """The first wall-clock moment at `at` in `tz` (on `weekday`, Monday = 0, if given) that is
    strictly after the instant `after`. Returned naive (local wall time)."""
    local_after = after.astimezone(tz)
    day = local_after.date()
    for _ in range(15):
        candidate = datetime.combine(day, at)
        if (weekday is None or day.weekday() == weekday) and to_utc(candidate, tz) > after:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: a week always has the weekday")  # pragma: no cover


@dataclass(frozen=True)
class Occurrence:
    index: int
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


def occurrences(
    first: datetime,
    tz: ZoneInfo,
    cadence: Cadence,
    duration: timedelta,
    *,
    start_index: int,
    count: int,
    until: datetime | None = None,
) -> list[Occurrence]:
    """Up to `count` occurrences from `start_index` on, none starting after `until` (an instant)."""
    found: list[Occurrence] = []
    for n in range(start_index, start_index + count):
        starts_at = to_utc(local_occurrence(first, cadence, n), tz)
        if until is not None and starts_at > until:
            break
        found.append(Occurrence(n, starts_at, starts_at + duration))
    return found


def local_times(
    starts_at: datetime, ends_at: datetime, timezones: dict[str, str]
) -> dict[str, dict[str, str]]:
    """When a meeting falls for each participant, in their own timezone (ISO 8601 with offset)."""
    shown: dict[str, dict[str, str]] = {}
    for person, name in timezones.items():
        tz = zone(name)
        shown[person] = {
            "timezone": name,
            "starts_at": starts_at.astimezone(tz).isoformat(),
            "ends_at": ends_at.astimezone(tz).isoformat(),
        }
    return shown


def slot_in_timezones(
    local_time: str, timezone: str, timezones: dict[str, str], on: datetime
) -> dict[str, tuple[str, str]]:
    """The agreed wall-clock time (HH:MM in `timezone`) as it falls for each participant, judged on
    its next occurrence after `on` (offsets change with daylight saving): person -> (timezone, HH:MM)."""
    tz = zone(timezone)
    moment = to_utc(first_local_start(on, tz, time.fromisoformat(local_time)), tz)
    return {
        person: (name, moment.astimezone(zone(name)).strftime("%H:%M")) for person, name in timezones.items()
    }
