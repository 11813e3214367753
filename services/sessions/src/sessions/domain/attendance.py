"""Attendance rules: when a session counts as missed, and how many have been missed in a row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def missed_cutoff(now: datetime, grace: timedelta) -> datetime:
    """Sessions that ended at or before this moment and are still only scheduled are missed."""
    return now - grace


def is_missed(status: str, ends_at: datetime, now: datetime, grace: timedelta) -> bool:
    return status == "scheduled" and ends_at <= missed_cutoff(now, grace)


def sessions_missed_in_a_row(earlier_statuses_newest_first: Iterable[str]) -> int:
    """Count this miss plus the misses right before it; a held session ends the run. Cancelled
    (and still scheduled) sessions neither break nor extend it."""
    run = 1
    for status in earlier_statuses_newest_first:
        if status == "missed":
            run += 1
        elif status == "held":
            break
    return run


def first_session_window(
    paired_at: datetime, after: timedelta, duration: timedelta
) -> tuple[datetime, datetime]:
    starts_at = paired_at + after
    return starts_at, starts_at + duration


def may_check_in(status: str, starts_at: datetime, now: datetime) -> bool:
    """Either side may mark a session held once it has started; a session first swept as missed
    may still be checked in late (the pair met but forgot to say so)."""
    return status in ("scheduled", "missed") and now >= starts_at
