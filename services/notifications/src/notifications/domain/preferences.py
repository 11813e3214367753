"""A person's restraint rules and when a message may reach them: channels on or off, quiet hours in
their own timezone, digests instead of single messages, and a daily frequency cap. Pure: the time
is always a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentorship_schemas.events import NotificationChannel
from pydantic import BaseModel, ConfigDict, Field


class Category(StrEnum):
    """What a message is about; preferences are set per category."""

    MATCHING = "matching"  # pairing, circles, requests, endings
    SESSIONS = "sessions"  # invites, reminders, agenda prompts, missed sessions
    PROGRESS = "progress"  # stagnation, overdue action items, goals achieved
    ESCALATION = "escalation"  # what program admins receive (also proposals to approve)
    DIGEST = "digest"  # the summaries themselves


class DigestMode(StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


class QuietHours(BaseModel):
    """Local wall-clock hours without email or chat; `start > end` spans midnight (22:00-07:00)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    def covers(self, local: time) -> bool:
        local = local.replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class CategoryPreference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    in_app: bool = True
    email: bool = True
    chat: bool = True
    quiet_hours: QuietHours | None = None
    digest: DigestMode = DigestMode.OFF
    max_per_day: int | None = Field(default=None, ge=1, le=1000, description="Per channel, local day.")

    def allows(self, channel: NotificationChannel) -> bool:
        return bool(getattr(self, channel.value))


class Preferences(BaseModel):
    """A person's preferences: a default and optional overrides per category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: CategoryPreference = CategoryPreference()
    categories: dict[Category, CategoryPreference] = Field(default_factory=dict)

    def for_category(self, category: Category) -> CategoryPreference:
        return self.categories.get(category, self.default)


# Everyone's until they choose (frozen, so one instance serves every recipient without their own).
DEFAULT_PREFERENCES = Preferences()


def zone(name: str | None) -> tzinfo:
    """The IANA zone of that name; UTC for an unknown or missing one (never fails a delivery)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _at_local(day: date, wall: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, wall.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def is_quiet(moment: datetime, tz: tzinfo, quiet: QuietHours | None) -> bool:
    return quiet is not None and quiet.covers(moment.astimezone(tz).timetz())


def end_of_quiet_hours(moment: datetime, tz: tzinfo, quiet: QuietHours | None) -> datetime:
    """`moment` itself when it is outside quiet hours, else the moment they end (local time)."""
    if quiet is None or not is_quiet(moment, tz, quiet):
        return moment
    local = moment.astimezone(tz)
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)  # quiet since this evening: it ends tomorrow morning
    end = _at_local(day, quiet.end, tz)
    # Across a DST change the wall-clock end may map to a moment at or before `moment`, or one
    # still inside the window; step forward an hour at a time (bounded) to the first quiet-free one.
    candidate = max(end, moment)
    for _ in range(26):
        if not is_quiet(candidate, tz, quiet):
            return candidate
        candidate += timedelta(hours=1)
    return candidate


@dataclass(frozen=True)
class DigestSlot:
    key: str  # identifies the summary a message joins: "daily:2026-11-27"
    due_at: datetime


def digest_slot(moment: datetime, tz: tzinfo, mode: DigestMode, send_at: time = time(8)) -> DigestSlot:
    """The next summary after `moment`: daily at `send_at` local, weekly on Monday at `send_at`."""
    if mode is DigestMode.OFF:
        raise ValueError("no digest slot when digests are off")
    local = moment.astimezone(tz)
    day = local.date()
    if mode is DigestMode.DAILY:
        due = _at_local(day, send_at, tz)
        while due <= moment:
            day += timedelta(days=1)
            due = _at_local(day, send_at, tz)
    else:
        day += timedelta(days=(7 - day.weekday()) % 7)  # this week's (or today's) Monday onwards
        due = _at_local(day, send_at, tz)
        while due <= moment:
            day += timedelta(days=7)
            due = _at_local(day, send_at, tz)
    return DigestSlot(f"{mode.value}:{day.isoformat()}", due)


# ---------------------------------------------------------------- planning one delivery


@dataclass(frozen=True)
class SendAt:
    at: datetime


@dataclass(frozen=True)
class JoinDigest:
    slot: DigestSlot


@dataclass(frozen=True)
class Skip:
    reason: str


Plan = SendAt | JoinDigest | Skip


def plan_delivery(
    channel: NotificationChannel,
    preference: CategoryPreference,
    tz: tzinfo,
    *,
    now: datetime,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    digest_send_at: time = time(8),
) -> Plan:
    """When (and whether) a message goes out on `channel` for a person with `preference`.

    In-app is silent, so it ignores quiet hours and digests. A message with an expiry (a reminder
    before a session) is never summarised in a digest, and goes out during quiet hours rather
    than after the moment it was for.
    """
    if not preference.allows(channel):
        return Skip("channel off")
    at = max(now, not_before) if not_before is not None else now
    if expires_at is not None and at >= expires_at:
        return Skip("too late")
    if channel is NotificationChannel.IN_APP:
        return SendAt(at)
    if preference.digest is not DigestMode.OFF and expires_at is None:
        slot = digest_slot(at, tz, preference.digest, digest_send_at)
        return JoinDigest(DigestSlot(slot.key, end_of_quiet_hours(slot.due_at, tz, preference.quiet_hours)))
    after_quiet = end_of_quiet_hours(at, tz, preference.quiet_hours)
    if expires_at is not None and after_quiet >= expires_at:
        return SendAt(at)  # waiting for the quiet hours to end would make it useless
    return SendAt(after_quiet)


# ---------------------------------------------------------------- frequency cap


@dataclass(frozen=True)
class CapCounter:
    """Messages sent on one channel in one category on one local day."""

    day: str
    sent: int


@dataclass(frozen=True)
class CapDecision:
    allowed: bool
    counter: CapCounter
    retry_at: datetime | None  # when a capped message may try again: the next local midnight


def check_frequency_cap(
    counter: CapCounter | None, cap: int | None, moment: datetime, tz: tzinfo
) -> CapDecision:
    """Whether one more message may go out now, and the counter after sending it."""
    local_day = moment.astimezone(tz).date()
    today = local_day.isoformat()
    sent = counter.sent if counter is not None and counter.day == today else 0
    if cap is None or sent < cap:
        return CapDecision(True, CapCounter(today, sent + 1), None)
    tomorrow = _at_local(local_day + timedelta(days=1), time(0), tz)
    return CapDecision(False, CapCounter(today, sent), max(tomorrow, moment + timedelta(minutes=1)))


# ---------------------------------------------------------------- retries


def next_attempt_at(
    attempts: int, *, now: datetime, max_attempts: int, backoff_seconds: float, backoff_max_seconds: float
) -> datetime | None:
    """After `attempts` failed tries: when to try again (exponential backoff), or None to give up."""
    if attempts >= max_attempts:
        return None
    return now + timedelta(seconds=min(backoff_max_seconds, backoff_seconds * 2 ** (attempts - 1)))
