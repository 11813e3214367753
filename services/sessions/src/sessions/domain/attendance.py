"""Attendance rules: when a session counts as missed, and how many have been missed in a row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sessions.domain.statuses import SessionStatus


def missed_cutoff(now: datetime, grace: timedelta) -> datetime:
    """Sessions that ended at or before this moment and are still only scheduled are missed."""
    return now - grace


def is_missed(status: SessionStatus, ends_at: datetime, now: datetime, grace: timedelta) -> bool:
    return status == SessionStatus.SCHEDULED and ends_at <= missed_cutoff(now, grace)


def missed_in_a_row(statuses_newest_first: Iterable[SessionStatus]) -> int:
    """The run of misses at the newest end: a held session ends it; cancelled (and still
    scheduled) sessions neither break nor extend it. The one home of this rule."""
    run = 0
    for status in statuses_newest_first:
        if status == SessionStatus.MISSED:
            run += 1
        elif status == SessionStatus.HELD:
            break
    return run


def sessions_missed_in_a_row(earlier_statuses_newest_first: Iterable[SessionStatus]) -> int:
    """Count this miss plus the misses right before it."""
    return 1 + missed_in_a_row(earlier_statuses_newest_first)


def may_check_in(status: SessionStatus, starts_at: datetime, now: datetime) -> bool:
    """Either side may mark a session held once it has started; a session first swept as missed
    may still be checked in late (the pair met but forgot to say so)."""
    return status in (SessionStatus.SCHEDULED, SessionStatus.MISSED) and now >= starts_at
