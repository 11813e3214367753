"""Stagnation and recovery, measured against the pair's own cadence, with the time as a parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mentorship_schemas.events import Cadence, Severity
from sessions.domain.cadence import NOMINAL_PERIOD
from sessions.domain.health import (
    AGREEMENT_UNSIGNED,
    CONSIDER_TRANSITION,
    END_NEAR_GOALS_OPEN,
    LEARNING_DECLINING,
    MISSED_IN_A_ROW,
    NO_PROGRESS,
    REEVALUATE_GOALS,
    SCHEDULE_NEXT,
    TRY_NEW_TOPICS,
    HealthAssessment,
    HealthPolicy,
    RelationshipFacts,
    SessionFacts,
    assess,
    next_time_check,
    no_session_reason,
    trailing_missed,
    transition,
)
from sessions.domain.statuses import SessionStatus

pytestmark = pytest.mark.fast

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def facts(cadence: Cadence = Cadence.WEEKLY, *sessions: SessionFacts, **kw: object) -> RelationshipFacts:
    base: dict[str, object] = {
        "cadence": cadence,
        "active_since": START,
        "drafted_at": START,
        "signed": True,
        "sessions": sessions,
    }
    base.update(kw)
    return RelationshipFacts(**base)  # type: ignore[arg-type]


def held(day: int, *learned: bool) -> SessionFacts:
    return SessionFacts(START + day * DAY, SessionStatus.HELD, tuple(learned))


def missed(day: int) -> SessionFacts:
    return SessionFacts(START + day * DAY, SessionStatus.MISSED)


def test_a_weekly_pair_without_a_session_for_two_weeks_is_stagnant_but_a_monthly_one_is_not() -> None:
    now = START + 15 * DAY
    weekly = assess(facts(Cadence.WEEKLY, held(0)), now)
    monthly = assess(facts(Cadence.MONTHLY, held(0)), now)
    assert weekly.reasons == (no_session_reason(2),)
    assert weekly.severity is Severity.MEDIUM
    assert SCHEDULE_NEXT in weekly.suggested_actions
    assert not monthly.stagnant


def test_two_missed_in_a_row_is_stagnant_and_a_held_session_in_between_breaks_the_run() -> None:
    now = START + 10 * DAY
    assert assess(facts(Cadence.WEEKLY, held(0), missed(3), missed(5)), now).reasons == (MISSED_IN_A_ROW,)
    assert not assess(facts(Cadence.WEEKLY, missed(3), held(4), missed(5)), now).stagnant


def test_cancelled_and_upcoming_sessions_neither_break_nor_extend_a_missed_run() -> None:
    run = [
        missed(1),
        SessionFacts(START + 2 * DAY, SessionStatus.CANCELLED),
        missed(3),
        SessionFacts(START + 9 * DAY, SessionStatus.SCHEDULED),
    ]
    assert trailing_missed(run) == 2


def test_three_missed_in_a_row_is_high_severity_and_suggests_a_rematch() -> None:
    result = assess(facts(Cadence.MONTHLY, held(0), missed(20), missed(40), missed(50)), START + 51 * DAY)
    assert result.severity is Severity.HIGH
    assert CONSIDER_TRANSITION in result.suggested_actions


def test_no_goal_progress_nor_action_item_done_over_the_last_three_sessions() -> None:
    sessions = (held(0), held(7), held(14))
    now = START + 15 * DAY
    stuck = assess(facts(Cadence.WEEKLY, *sessions, progress_at=[START - DAY]), now)
    assert stuck.reasons == (NO_PROGRESS,)
    assert stuck.severity is Severity.LOW
    assert {REEVALUATE_GOALS, TRY_NEW_TOPICS} <= set(stuck.suggested_actions)
    moving = assess(facts(Cadence.WEEKLY, *sessions, progress_at=[START + 8 * DAY]), now)
    assert not moving.stagnant


def test_falling_i_learned_something_answers() -> None:
    sessions = (held(0, True, True), held(7, True, True), held(14, False, False), held(21, False, True))
    result = assess(facts(Cadence.WEEKLY, *sessions, progress_at=[START + 20 * DAY]), START + 22 * DAY)
    assert result.reasons == (LEARNING_DECLINING,)
    steady = (held(0, True, False), held(7, True, True), held(14, True, False), held(21, True, True))
    assert not assess(
        facts(Cadence.WEEKLY, *steady, progress_at=[START + 20 * DAY]), START + 22 * DAY
    ).stagnant


def test_end_near_with_goals_open() -> None:
    ends = START + 40 * DAY
    near = assess(facts(Cadence.MONTHLY, held(25), ends_on=ends, goals_open=1), START + 30 * DAY)
    assert near.reasons == (END_NEAR_GOALS_OPEN,)
    assert not assess(facts(Cadence.MONTHLY, held(25), ends_on=ends, goals_open=0), START + 30 * DAY).stagnant


def test_an_agreement_left_unsigned_is_a_health_signal() -> None:
    draft = facts(Cadence.MONTHLY, signed=False)
    assert not assess(draft, START + 13 * DAY).stagnant
    assert assess(draft, START + 15 * DAY).reasons == (AGREEMENT_UNSIGNED,)


def test_policy_multiples_are_configurable() -> None:
    policy = HealthPolicy(no_session_multiple=3, missed_in_a_row=3)
    now = START + 15 * DAY
    assert not assess(facts(Cadence.WEEKLY, held(0), missed(5), missed(12)), now, policy).stagnant


def test_one_event_per_episode_and_recovery_closes_it() -> None:
    stagnant = HealthAssessment((MISSED_IN_A_ROW,), Severity.MEDIUM, (SCHEDULE_NEXT,))
    healthy = HealthAssessment()
    first = transition(False, 0, stagnant)
    assert (first.kind, first.episode_number) == ("stagnant", 1)
    assert transition(True, 1, stagnant).kind is None  # still the same episode, even with new reasons
    recovered = transition(True, 1, healthy)
    assert (recovered.kind, recovered.episode_number) == ("recovered", 1)
    assert transition(False, 1, healthy).kind is None
    assert transition(False, 1, stagnant).episode_number == 2


def test_next_time_check_is_when_the_no_session_rule_would_fire() -> None:
    result = next_time_check(facts(Cadence.WEEKLY, held(0)), START + DAY)
    assert result is not None
    assert START + 14 * DAY < result <= START + 14 * DAY + timedelta(seconds=1)
    assert not assess(facts(Cadence.WEEKLY, held(0)), result - timedelta(seconds=1)).stagnant
    assert assess(facts(Cadence.WEEKLY, held(0)), result).stagnant


statuses = st.sampled_from(
    [SessionStatus.HELD, SessionStatus.MISSED, SessionStatus.CANCELLED, SessionStatus.SCHEDULED]
)
session_lists = st.lists(
    st.builds(lambda d, s: SessionFacts(START + d * DAY, s), st.integers(0, 300), statuses), max_size=20
)


@settings(max_examples=300, deadline=None)
@given(sessions=session_lists, cadence=st.sampled_from(list(Cadence)), days=st.integers(0, 400))
def test_assessment_is_consistent(sessions: list[SessionFacts], cadence: Cadence, days: int) -> None:
    now = START + days * DAY
    result = assess(facts(cadence, *sessions), now)
    assert result.stagnant == bool(result.reasons) == (result.severity is not None)
    assert len(set(result.reasons)) == len(result.reasons)
    assert len(set(result.suggested_actions)) == len(result.suggested_actions)
    if trailing_missed(sessions) >= 2:
        assert MISSED_IN_A_ROW in result.reasons
    last = max((s.starts_at for s in sessions if s.status == SessionStatus.HELD), default=START)
    assert (no_session_reason(2) in result.reasons) == (now - last > 2 * NOMINAL_PERIOD[cadence])


@settings(max_examples=200, deadline=None)
@given(sessions=session_lists, cadence=st.sampled_from(list(Cadence)), days=st.integers(0, 400))
def test_a_held_session_now_clears_the_meeting_reasons(
    sessions: list[SessionFacts], cadence: Cadence, days: int
) -> None:
    now = START + days * DAY
    later = [*(s for s in sessions if s.starts_at < now), SessionFacts(now, SessionStatus.HELD)]
    reasons = assess(facts(cadence, *later, progress_at=[now]), now).reasons
    assert MISSED_IN_A_ROW not in reasons
    assert no_session_reason(2) not in reasons


@settings(max_examples=200, deadline=None)
@given(sessions=session_lists, cadence=st.sampled_from(list(Cadence)), days=st.integers(0, 400))
def test_nothing_time_driven_changes_before_the_next_time_check(
    sessions: list[SessionFacts], cadence: Cadence, days: int
) -> None:
    now = START + days * DAY
    check = next_time_check(facts(cadence, *sessions), now)
    before = assess(facts(cadence, *sessions), now).reasons
    probe = (check - timedelta(seconds=2)) if check else now + 1000 * DAY
    if probe > now:
        assert assess(facts(cadence, *sessions), probe).reasons == before
