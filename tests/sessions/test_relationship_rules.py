"""The relationship aggregate in memory (no I/O): signing starts the cadence, the horizon is kept
topped up within the agreement's end, sessions move, are held, missed and cancelled with one event
each and ids derived from the cause, goals and action items announce themselves once, health
changes open and close one episode each, and every refusal names its reason or field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mentorship_schemas import (
    AgreementSignatureAdded,
    GoalAchieved,
    RelationshipRecovered,
    RelationshipStagnant,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.events import Cadence, PairEndReason
from servicekit.aggregates import Emitted
from servicekit.ids import derived_id
from sessions.domain.agreement import AgreementTerms
from sessions.domain.errors import InvalidInput, NotFound, Rejected
from sessions.domain.parts import ActionItem, DueKind, FeedbackAnswers, Session
from sessions.domain.policy import SessionsPolicy
from sessions.domain.relationship import SYSTEM_ACTOR, Relationship
from sessions.domain.statuses import RelationshipKind, RelationshipStatus, SessionKind, SessionStatus

pytestmark = pytest.mark.fast

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = SessionsPolicy(horizon_sessions=3, default_cadence=Cadence.WEEKLY)


def _pair(cadence: Cadence = Cadence.WEEKLY, ends_on: datetime | None = None) -> Relationship:
    relationship = Relationship.draft(
        relationship_id="pair-1",
        org_id="org",
        program_id="p",
        kind=RelationshipKind.PAIR,
        participant_ids=["ada", "grace"],
        started_at=T0,
        policy=POLICY,
        mentor_id="grace",
        mentee_id="ada",
    )
    agreement = relationship.agreement
    agreement.cadence, agreement.ends_on = cadence, ends_on
    agreement.timezone, agreement.timezones = "Europe/London", {"ada": "Europe/London", "grace": "UTC"}
    agreement.meeting_link = "https://meet.example/abc"
    return relationship


def _signed(cadence: Cadence = Cadence.WEEKLY, ends_on: datetime | None = None) -> Relationship:
    relationship = _pair(cadence, ends_on)
    for person in ("ada", "grace"):
        relationship.sign_agreement(person, T0)
    relationship.top_up_cadence(T0, POLICY)
    return relationship


def _types(emitted: list[Emitted]) -> list[str]:
    return [type(item.event).__name__ for item in emitted]


def _session(relationship: Relationship, day: int, status: SessionStatus) -> Session:
    session = Session(
        session_id=f"s{day}",
        seq=len(relationship.sessions) + 1,
        kind=SessionKind.EXTRA,
        starts_at=T0 + timedelta(days=day),
        ends_at=T0 + timedelta(days=day) + HOUR,
        status=status,
    )
    relationship.sessions.append(session)
    return session


def test_the_last_signature_emits_agreement_signed_and_starts_the_cadence() -> None:
    relationship = _pair()
    (signature,) = relationship.sign_agreement("ada", T0) + relationship.top_up_cadence(T0, POLICY)
    assert isinstance(signature.event, AgreementSignatureAdded)
    assert (signature.event.signer_id, signature.event.awaiting_ids, signature.event.revision) == (
        "ada",
        ["grace"],
        1,
    )
    assert signature.event_id == derived_id("pair-1", "signature", "1", "ada")
    assert relationship.sign_agreement("ada", T0) == [], "signing twice announces nothing"
    assert relationship.sessions == []
    later = T0 + HOUR
    emitted = relationship.sign_agreement("grace", later) + relationship.top_up_cadence(later, POLICY)
    assert _types(emitted) == ["AgreementSigned"] + ["SessionScheduled"] * 3
    assert emitted[0].event.version == relationship.version + 1
    assert [s.starts_at.isoformat() for s in relationship.sessions] == [
        "2030-01-08T10:00:00+00:00",
        "2030-01-15T10:00:00+00:00",
        "2030-01-22T10:00:00+00:00",
    ]
    assert {s.location for s in relationship.sessions} == {"https://meet.example/abc"}
    with pytest.raises(Rejected, match="already signed"):
        relationship.sign_agreement("ada", T0)


def test_resolving_a_cadence_session_schedules_the_next_one_and_only_once() -> None:
    relationship = _signed()
    relationship.sessions[0].status = SessionStatus.HELD
    later = T0 + timedelta(days=2)
    emitted = relationship.top_up_cadence(later, POLICY) + relationship.top_up_cadence(later, POLICY)
    assert _types(emitted) == ["SessionScheduled"]
    assert [s.index for s in relationship.sessions] == [0, 1, 2, 3]


def test_no_session_is_scheduled_past_the_agreements_end() -> None:
    assert len(_signed(ends_on=T0 + timedelta(days=10)).sessions) == 2


@settings(max_examples=50, deadline=None)
@given(
    cadence=st.sampled_from(list(Cadence)),
    resolved=st.lists(
        st.sampled_from([SessionStatus.HELD, SessionStatus.MISSED, SessionStatus.CANCELLED]), max_size=12
    ),
)
def test_horizon_is_kept_and_session_ids_never_repeat(
    cadence: Cadence, resolved: list[SessionStatus]
) -> None:
    relationship = _signed(cadence)
    now = T0
    for status in resolved:
        upcoming = next(s for s in relationship.sessions if s.status == SessionStatus.SCHEDULED)
        upcoming.status = status
        now = max(now, upcoming.starts_at)
        relationship.top_up_cadence(now, POLICY)
    ids = [s.session_id for s in relationship.sessions]
    assert len(ids) == len(set(ids))
    ahead = [s for s in relationship.sessions if s.status == SessionStatus.SCHEDULED and s.starts_at > now]
    assert len(ahead) >= 2
    starts = [s.starts_at for s in relationship.sessions]
    assert starts == sorted(starts)


def test_stagnation_is_announced_once_per_episode_and_recovery_closes_it() -> None:
    relationship = _pair()
    relationship.agreement.signed_at = T0
    for day in (1, 2):
        _session(relationship, day, SessionStatus.MISSED)
    first = relationship.reassess_health(T0 + timedelta(days=3), POLICY.health)
    assert _types(first) == ["RelationshipStagnant"]
    assert relationship.reassess_health(T0 + timedelta(days=4), POLICY.health) == []
    _session(relationship, 5, SessionStatus.HELD)
    recovered = relationship.reassess_health(T0 + timedelta(days=5), POLICY.health)
    assert _types(recovered) == ["RelationshipRecovered"]
    stagnant_event = first[0].event
    assert isinstance(stagnant_event, RelationshipStagnant)
    assert isinstance(recovered[0].event, RelationshipRecovered)
    assert stagnant_event.episode_id == recovered[0].event.episode_id
    assert first[0].event_id != recovered[0].event_id
    for day in (6, 7):
        _session(relationship, day, SessionStatus.MISSED)
    again = relationship.reassess_health(T0 + timedelta(days=8), POLICY.health)
    assert isinstance(again[0].event, RelationshipStagnant)
    assert again[0].event.episode_id != stagnant_event.episode_id
    assert relationship.health.episodes == 2


def test_the_kickoff_keeps_its_first_id_and_its_end_is_a_due_date() -> None:
    relationship = _pair()
    (scheduled,) = relationship.schedule_kickoff(POLICY)
    kickoff = relationship.sessions[0]
    assert kickoff.session_id == derived_id("pair-1", "session", "1")
    assert scheduled.event_id == derived_id(kickoff.session_id, "scheduled", "0")
    # Two days after pairing (a Wednesday), at the pair's usual 10:00 in London.
    assert kickoff.starts_at == datetime(2030, 1, 9, 10, 0, tzinfo=UTC)
    assert [(d.kind, d.key, d.at) for d in relationship.due_dates()] == [
        (DueKind.SESSION_END, kickoff.session_id, kickoff.ends_at)
    ]


def test_a_reschedule_bumps_the_sequence_and_schedules_again_under_a_new_event_id() -> None:
    relationship = _pair()
    relationship.schedule_kickoff(POLICY)
    kickoff, planned = relationship.sessions[0].session_id, relationship.sessions[0].starts_at
    moved_to = (T0 + timedelta(days=9), T0 + timedelta(days=9) + HOUR)
    (emitted,) = relationship.reschedule_session(kickoff, "grace", moved_to, "travel", T0)
    session = relationship.session(kickoff)
    assert (session.sequence, session.version, session.starts_at) == (1, 2, moved_to[0])
    assert isinstance(emitted.event, SessionScheduled)
    assert emitted.event.version == 2
    assert emitted.event_id == derived_id(kickoff, "scheduled", "1")
    assert relationship.due_dates()[-1].at == moved_to[1]
    assert session.reschedules[0].moved_from == planned
    relationship.cancel_session(kickoff, "grace", "ill", T0)
    with pytest.raises(Rejected, match="This session is cancelled"):
        relationship.reschedule_session(kickoff, "grace", moved_to, None, T0)


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [(-HOUR, HOUR, "starts_at"), (2 * HOUR, HOUR, "ends_at"), (HOUR, 14 * HOUR, "ends_at")],
)
def test_a_session_window_must_lie_ahead_and_last_at_most_twelve_hours(
    starts: timedelta, ends: timedelta, field: str
) -> None:
    relationship = _pair()
    with pytest.raises(InvalidInput) as refused:
        relationship.schedule_session("x", (T0 + starts, T0 + ends), None, T0)
    assert refused.value.field == field
    assert relationship.sessions == []


def test_checking_in_is_allowed_once_started_and_twice_is_harmless() -> None:
    relationship = _pair()
    relationship.schedule_session("s", (T0 + HOUR, T0 + 2 * HOUR), None, T0)
    with pytest.raises(Rejected, match="This session is scheduled and has not started yet"):
        relationship.check_in("s", "ada", T0)
    (held,) = relationship.check_in("s", "ada", T0 + HOUR)
    assert held.event_id == derived_id("s", "held")
    assert relationship.check_in("s", "grace", T0 + 2 * HOUR) == []
    assert relationship.session("s").held_by == "ada"
    with pytest.raises(NotFound, match="no such session"):
        relationship.check_in("nope", "ada", T0)


def test_a_missed_session_counts_the_misses_before_it_and_a_late_check_in_still_counts() -> None:
    relationship = _pair()
    _session(relationship, 1, SessionStatus.MISSED)
    _session(relationship, 2, SessionStatus.CANCELLED)
    _session(relationship, 3, SessionStatus.SCHEDULED)
    grace = POLICY.grace
    assert relationship.miss_session("s3", T0 + timedelta(days=3) + HOUR, grace) == []  # within grace
    (missed,) = relationship.miss_session("s3", T0 + timedelta(days=4), grace)
    assert isinstance(missed.event, SessionMissed)
    assert missed.event.missed_in_a_row == 2
    assert missed.event_id == derived_id("s3", "missed")
    assert relationship.miss_session("s3", T0 + timedelta(days=5), grace) == []
    assert relationship.miss_session("orphan", T0 + timedelta(days=5), grace) == []
    assert _types(relationship.check_in("s3", "ada", T0 + timedelta(days=5))) == ["SessionCompleted"]


def test_feedback_follows_a_held_session_and_erasure_keeps_only_the_answers() -> None:
    relationship = _pair()
    relationship.schedule_session("s", (T0 + HOUR, T0 + 2 * HOUR), None, T0)
    relationship.add_agenda_item("s", "a1", "my promotion", "ada", T0)
    answers = FeedbackAnswers(useful=True, learned=False, text="private words")
    with pytest.raises(Rejected, match="after a held session"):
        relationship.give_feedback("s", "ada", answers, T0)
    relationship.check_in("s", "grace", T0 + HOUR)
    with pytest.raises(Rejected, match="before the session"):
        relationship.add_agenda_item("s", "a2", "late", "ada", T0 + HOUR)
    relationship.give_feedback("s", "ada", answers, T0 + 2 * HOUR)
    relationship.erase_person("ada", T0 + 2 * HOUR)
    session = relationship.session("s")
    assert session.feedback["ada"].text is None
    assert session.feedback["ada"].learned is False
    assert [item.text for item in session.agenda] == ["Removed at its author's request."]


def test_the_last_milestone_achieves_the_goal_once() -> None:
    relationship = _pair()
    relationship.add_goal("g", "Lead a review", [("m1", "draft"), ("m2", "review")], T0)
    assert relationship.reach_milestone("g", "m1", T0) == []
    assert relationship.goal("g").progress == 50
    (achieved,) = relationship.reach_milestone("g", "m2", T0 + HOUR)
    assert isinstance(achieved.event, GoalAchieved)
    assert (achieved.event.version, achieved.event_id) == (2, derived_id("g", "achieved"))
    assert relationship.reach_milestone("g", "m2", T0 + HOUR) == []
    assert relationship.set_goal_progress("g", 10, T0 + HOUR) == []
    assert relationship.goal("g").progress == 100
    with pytest.raises(NotFound, match="no such milestone"):
        relationship.reach_milestone("g", "nope", T0)


def test_progress_to_a_hundred_achieves_a_goal_without_milestones() -> None:
    relationship = _pair()
    relationship.add_goal("g", "Speak", [], T0)
    relationship.set_goal_progress("g", 40, T0)
    relationship.set_goal_progress("g", 30, T0 + HOUR)
    assert relationship.goal("g").progress_at == [T0]  # only moving forward counts as progress
    assert _types(relationship.set_goal_progress("g", 100, T0 + HOUR)) == ["GoalAchieved"]


def _item(
    owner: str = "ada", due: timedelta = timedelta(days=1), session_id: str | None = None
) -> ActionItem:
    return ActionItem(
        item_id="i",
        title="Read",
        owner_id=owner,
        due_at=T0 + due,
        session_id=session_id,
        created_at=T0,
        created_by="ada",
    )


def test_an_action_item_needs_a_member_owner_a_future_due_date_and_a_real_session() -> None:
    relationship = _pair()
    for item, field in ((_item(owner="mallory"), "owner_id"), (_item(due=-HOUR), "due_at")):
        with pytest.raises(InvalidInput) as refused:
            relationship.add_action_item(item, T0)
        assert refused.value.field == field
    with pytest.raises(NotFound, match="no such session"):
        relationship.add_action_item(_item(session_id="nope"), T0)
    assert relationship.action_items == []


def test_an_overdue_action_item_is_announced_once_and_never_once_done() -> None:
    relationship = _pair()
    relationship.add_action_item(_item(), T0)
    assert relationship.due_dates()[-1].kind == DueKind.ACTION_ITEM
    assert relationship.flag_overdue_action_item("i", T0 + HOUR) == []
    (overdue,) = relationship.flag_overdue_action_item("i", T0 + timedelta(days=2))
    assert overdue.event_id == derived_id("i", "overdue", (T0 + timedelta(days=1)).isoformat())
    assert relationship.flag_overdue_action_item("i", T0 + timedelta(days=3)) == []
    done = _pair()
    done.add_action_item(_item(), T0)
    done.complete_action_item("i", T0)
    assert done.flag_overdue_action_item("i", T0 + timedelta(days=2)) == []


def test_ending_cancels_only_future_sessions_once_and_refuses_later_changes() -> None:
    relationship = _signed()  # the first cadence session starts an hour after signing
    now = T0 + timedelta(hours=3)
    emitted = relationship.end(PairEndReason.COMPLETED, now, now)
    assert _types(emitted) == ["SessionCancelled"] * 2
    first, *later = relationship.sessions
    assert first.status == SessionStatus.SCHEDULED  # past: the missed sweep decides about it
    assert {(s.status, s.cancelled_by, s.cancel_reason) for s in later} == {
        (
            SessionStatus.CANCELLED,
            SYSTEM_ACTOR,
            "Cancelled because the pair ended: the mentorship was completed.",
        )
    }
    assert relationship.status == RelationshipStatus.ENDED
    assert relationship.end(PairEndReason.COMPLETED, now, now) == []
    with pytest.raises(Rejected, match="has ended"):
        relationship.require_active()
    assert relationship.top_up_cadence(now, POLICY) == []
    assert relationship.reassess_health(now + timedelta(days=90), POLICY.health) == []


def test_a_redraft_voids_the_signatures_and_names_a_stranger_as_the_bad_field() -> None:
    relationship = _pair()
    relationship.sign_agreement("ada", T0)
    before = relationship.agreement.model_copy()
    new_terms = AgreementTerms(
        goals=["Grow"],
        roles={"ada": "mentee"},
        cadence=Cadence.BIWEEKLY,
        ends_on=None,
        starts_on=None,
        boundaries=None,
        channel=None,
        modality=None,
        meeting_link=None,
        timezone="UTC",
        timezones={"grace": "America/New_York"},
        local_time="09:30",
        weekday=1,
        duration_minutes=45,
    )
    relationship.redraft_agreement(new_terms, T0)
    agreement = relationship.agreement
    assert (agreement.revision, agreement.signatures, agreement.cadence) == (2, {}, Cadence.BIWEEKLY)
    assert agreement.timezones == {**before.timezones, "grace": "America/New_York"}
    stranger = AgreementTerms(**{**vars(new_terms), "timezones": {"mallory": "UTC"}})
    with pytest.raises(InvalidInput) as refused:
        relationship.redraft_agreement(stranger, T0)
    assert refused.value.field == "timezones"
    too_short = AgreementTerms(**{**vars(new_terms), "ends_on": T0 - HOUR})
    with pytest.raises(InvalidInput, match="must end after it starts"):
        relationship.redraft_agreement(too_short, T0)


def test_the_stored_form_keeps_status_values_and_the_reschedule_field_name() -> None:
    relationship = _pair()
    relationship.schedule_kickoff(POLICY)
    relationship.reschedule_session(
        relationship.sessions[0].session_id, "ada", (T0 + 2 * HOUR, T0 + 3 * HOUR), None, T0
    )
    document = relationship.to_document()
    assert document["_id"] == "pair-1"
    assert (document["kind"], document["status"]) == ("pair", "active")
    assert document["sessions"][0]["status"] == "scheduled"
    # No reason was given: an empty field is left out of the stored form.
    assert set(document["sessions"][0]["reschedules"][0]) == {"by", "at", "from", "to"}
    assert "reason" not in document["sessions"][0]["reschedules"][0]
    assert Relationship.model_validate(document).to_document() == document
