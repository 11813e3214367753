"""When people can meet: working hours on weekdays in each participant's own timezone, and the first
slot that fits everyone (the kick-off, a pair's usual time). Pure: instants in, instants out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sessions.domain.cadence import to_utc

STEP = timedelta(minutes=30)  # slots start on the hour or the half hour, in the schedule's timezone


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(17, 0)
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))  # Monday = 0 ... Friday

    def fits(self, starts_at: datetime, ends_at: datetime, zones: Iterable[ZoneInfo]) -> bool:
        """The meeting lies within one working day for everyone."""
        for tz in zones:
            start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
            if start.weekday() not in self.days or start.date() != end.date():
                return False
            if start.time() < self.start or end.time() > self.end:
                return False
        return True

    def starts_on(
        self, day: date, tz: ZoneInfo, preferred: time | None, not_before: datetime | None = None
    ) -> Iterator[datetime]:
        """The candidate starts on `day` (UTC instants), the preferred local time first; made one
        at a time (the first usually fits). Slots before the instant `not_before` may be left out."""
        if preferred is not None:
            yield to_utc(datetime.combine(day, preferred), tz)
        wall = datetime.combine(day, self.start)
        # The clocks keep one offset from the day's first slot to its end (no change of clocks
        # during working hours, as on every day but two a year): each slot is that offset away,
        # and those before `not_before` are skipped at once. Converting each slot on its own cost
        # a sixth of a relationship's start.
        offset = tz.utcoffset(wall)
        if offset is None or offset != tz.utcoffset(datetime.combine(day, self.end)):
            while wall.time() < self.end and wall.date() == day:
                yield to_utc(wall, tz)
                wall += STEP
            return
        if not_before is not None:
            behind = not_before.astimezone(UTC).replace(tzinfo=None) + offset - wall
            if behind > timedelta(0):
                wall += STEP * -(-behind // STEP)
        while wall.time() < self.end and wall.date() == day:
            yield (wall - offset).replace(tzinfo=UTC)
            wall += STEP


def first_slot(
    earliest: datetime,
    latest: datetime,
    duration: timedelta,
    schedule_tz: ZoneInfo,
    zones: Sequence[ZoneInfo],
    hours: WorkingHours,
    preferred: time | None = None,
) -> datetime | None:
    """The first start in [earliest, latest] whose meeting is in everyone's working hours: the
    earliest day that has one, at the `preferred` local time (in `schedule_tz`) if it fits that day,
    else the first half hour that does. None when no such slot exists (timezones too far apart)."""
    day = earliest.astimezone(schedule_tz).date()
    last_day = latest.astimezone(schedule_tz).date()
    # A start fits only on a working day in every zone, so when the schedule's own zone is one of
    # them its days off have no slot: skipped without trying one (trying them cost most of a
    # relationship's start when a weekend lay between the pairing and the kick-off).
    every_day = schedule_tz not in zones
    while day <= last_day:
        if every_day or day.weekday() in hours.days:
            for start in hours.starts_on(day, schedule_tz, preferred, not_before=earliest):
                if earliest <= start <= latest and hours.fits(start, start + duration, zones):
                    return start
        day += timedelta(days=1)
    return None


def shared_local_time(
    on: datetime,
    duration: timedelta,
    schedule_tz: ZoneInfo,
    zones: Sequence[ZoneInfo],
    hours: WorkingHours,
    preferred: time,
) -> time:
    """A wall-clock time (in `schedule_tz`) inside everyone's working hours, judged on the first
    working days after `on`: `preferred` if it fits, else the first that does; `preferred` when
    none does (the timezones share no working hours)."""
    tomorrow = to_utc(
        datetime.combine(on.astimezone(schedule_tz).date() + timedelta(days=1), time()), schedule_tz
    )
    slot = first_slot(tomorrow, tomorrow + timedelta(days=7), duration, schedule_tz, zones, hours, preferred)
    return preferred if slot is None else slot.astimezone(schedule_tz).time().replace(tzinfo=None)
