"""Relationship health: is a pair stagnating, measured against its own agreed cadence?

Pure: `assess` takes the facts and the time, `transition` decides whether that opens or closes a
stagnation episode (one RelationshipStagnant per episode, RelationshipRecovered when healthy again),
and `next_time_check` says when time alone could change the answer (so a sweep looks again then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mentorship_schemas.events import Cadence, Severity

from sessions.domain.attendance import missed_in_a_row
from sessions.domain.cadence import NOMINAL_PERIOD
from sessions.domain.statuses import HealthChange, SessionStatus

MISSED_IN_A_ROW = "missed_sessions_in_a_row"
NO_PROGRESS = "no_progress_over_last_sessions"
LEARNING_DECLINING = "learning_declining"
END_NEAR_GOALS_OPEN = "end_near_with_open_goals"
AGREEMENT_UNSIGNED = "agreement_unsigned"

SCHEDULE_NEXT = "schedule_the_next_session"
REEVALUATE_GOALS = "reevaluate_goals"
TRY_NEW_TOPICS = "try_new_topics"
CONSIDER_TRANSITION = "consider_a_transition_or_rematch"
SIGN_AGREEMENT = "review_and_sign_the_agreement"


def no_session_reason(multiple: float) -> str:
    return f"no_session_for_{multiple:g}x_cadence"


@dataclass(frozen=True)
class HealthPolicy:
    no_session_multiple: float = 2.0  # no held session for more than this many cadence periods
    missed_in_a_row: int = 2
    progress_window_sessions: int = 3  # no goal progress nor action item done over these last held sessions
    learning_window: int = 4  # "I learned something" answers compared: the last N against the N before
    learning_drop: float = 0.5
    end_near: timedelta = timedelta(days=14)
    unsigned_after: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class SessionFacts:
    starts_at: datetime
    status: SessionStatus
    learned: tuple[bool, ...] = ()  # the participants' "did I learn something" answers


@dataclass(frozen=True)
class RelationshipFacts:
    cadence: Cadence
    active_since: datetime  # when the pair started (or signed): the clock for "no session yet"
    drafted_at: datetime
    signed: bool
    sessions: Sequence[SessionFacts] = ()
    progress_at: Sequence[datetime] = ()  # goal progress and action items done
    goals_open: int = 0
    ends_on: datetime | None = None


@dataclass(frozen=True)
class HealthAssessment:
    reasons: tuple[str, ...] = ()
    severity: Severity | None = None
    suggested_actions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def stagnant(self) -> bool:
        return bool(self.reasons)


def trailing_missed(sessions: Sequence[SessionFacts]) -> int:
    """Misses in a row at the end of the sessions (see `attendance.missed_in_a_row`)."""
    newest_first = sorted(sessions, key=lambda s: s.starts_at, reverse=True)
    return missed_in_a_row(session.status for session in newest_first)


def last_held(facts: RelationshipFacts) -> datetime | None:
    held = [s.starts_at for s in facts.sessions if s.status == SessionStatus.HELD]
    return max(held) if held else None


def _learning_declines(facts: RelationshipFacts, policy: HealthPolicy) -> bool:
    held = sorted((s for s in facts.sessions if s.status == SessionStatus.HELD), key=lambda s: s.starts_at)
    answers = [answer for s in held for answer in s.learned]
    w = policy.learning_window
    if len(answers) < 2 * w:
        return False
    earlier = sum(answers[-2 * w : -w]) / w
    recent = sum(answers[-w:]) / w
    return earlier - recent >= policy.learning_drop


def _no_progress(facts: RelationshipFacts, policy: HealthPolicy) -> bool:
    held = sorted(s.starts_at for s in facts.sessions if s.status == SessionStatus.HELD)
    window = policy.progress_window_sessions
    if window < 1 or len(held) < window:
        return False
    since = held[-window]
    return not any(moment >= since for moment in facts.progress_at)


def assess(facts: RelationshipFacts, now: datetime, policy: HealthPolicy | None = None) -> HealthAssessment:
    policy = policy or HealthPolicy()
    period = NOMINAL_PERIOD[facts.cadence]
    reasons: list[str] = []
    actions: list[str] = []
    high = False

    since = last_held(facts) or facts.active_since
    gap = now - since
    if gap > period * policy.no_session_multiple:
        reasons.append(no_session_reason(policy.no_session_multiple))
        actions.append(SCHEDULE_NEXT)
        high = high or gap > period * policy.no_session_multiple * 2
    missed = trailing_missed(facts.sessions)
    if missed >= policy.missed_in_a_row:
        reasons.append(MISSED_IN_A_ROW)
        actions.append(SCHEDULE_NEXT)
        high = high or missed > policy.missed_in_a_row
    if _no_progress(facts, policy):
        reasons.append(NO_PROGRESS)
        actions += [REEVALUATE_GOALS, TRY_NEW_TOPICS]
    if _learning_declines(facts, policy):
        reasons.append(LEARNING_DECLINING)
        actions += [TRY_NEW_TOPICS, REEVALUATE_GOALS]
    if facts.ends_on is not None and facts.goals_open > 0 and facts.ends_on - now <= policy.end_near:
        reasons.append(END_NEAR_GOALS_OPEN)
        actions.append(REEVALUATE_GOALS)
    if not facts.signed and now - facts.drafted_at > policy.unsigned_after:
        reasons.append(AGREEMENT_UNSIGNED)
        actions.append(SIGN_AGREEMENT)

    if not reasons:
        return HealthAssessment()
    high = high or len(reasons) >= 3
    if high:
        severity = Severity.HIGH
        actions.append(CONSIDER_TRANSITION)
    elif len(reasons) >= 2 or reasons[0] in (MISSED_IN_A_ROW, no_session_reason(policy.no_session_multiple)):
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    return HealthAssessment(tuple(reasons), severity, tuple(dict.fromkeys(actions)))


def next_time_check(
    facts: RelationshipFacts, now: datetime, policy: HealthPolicy | None = None
) -> datetime | None:
    """The earliest moment after `now` at which time alone could make the pair stagnant (or more so)."""
    policy = policy or HealthPolicy()
    period = NOMINAL_PERIOD[facts.cadence]
    since = last_held(facts) or facts.active_since
    candidates = [
        since + period * policy.no_session_multiple,
        since + period * policy.no_session_multiple * 2,
    ]
    if not facts.signed:
        candidates.append(facts.drafted_at + policy.unsigned_after)
    if facts.ends_on is not None:
        candidates.append(facts.ends_on - policy.end_near)
    future = [moment + timedelta(seconds=1) for moment in candidates if moment + timedelta(seconds=1) > now]
    return min(future) if future else None


@dataclass(frozen=True)
class Transition:
    """What changed in the pair's health: an episode opens (stagnant), closes (recovered), or neither."""

    kind: HealthChange | None  # None: the episode (open or not) stays as it was
    episode_number: int  # the episode opened or closed (1-based); unchanged count when kind is None


def transition(open_episode: bool, episodes_so_far: int, assessment: HealthAssessment) -> Transition:
    """Once per episode: an open episode is not re-announced while the pair stays stagnant, even if
    its reasons change; a healthy assessment closes it."""
    if assessment.stagnant and not open_episode:
        return Transition(HealthChange.STAGNANT, episodes_so_far + 1)
    if not assessment.stagnant and open_episode:
        return Transition(HealthChange.RECOVERED, episodes_so_far)
    return Transition(None, episodes_so_far)
