"""What each event tells each person, with the action to take (domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mentorship_schemas import (
    ActionItemOverdue,
    CircleFormed,
    GoalAchieved,
    MatchProposed,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
    RelationshipStagnant,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.events import NotificationChannel, PairEndReason, Severity
from notifications.domain.calendar import unfold
from notifications.domain.messages import (
    Directory,
    Person,
    SessionTiming,
    for_action_item_overdue,
    for_circle_formed,
    for_goal_achieved,
    for_match_proposed,
    for_mentorship_requested,
    for_pair_created,
    for_pair_declined,
    for_pair_ended,
    for_relationship_stagnant,
    for_session_missed,
    for_session_scheduled,
)
from notifications.domain.preferences import Category

pytestmark = pytest.mark.fast
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PEOPLE = Directory(
    {
        "m": Person("m", "Grace Hopper", "grace@example.com", "America/New_York"),
        "e": Person("e", "Ada", "ada@example.com", "Europe/London"),
        "admin": Person("admin", "Pat Admin", "pat@example.com"),
    },
    admins=["admin"],
)


def _missed(in_a_row: int) -> SessionMissed:
    return SessionMissed(
        org_id="o",
        version=2,
        session_id="s",
        pair_id="p",
        participant_ids=["e", "m"],
        starts_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
        missed_in_a_row=in_a_row,
    )


def _scheduled(starts_in: timedelta) -> SessionScheduled:
    return SessionScheduled(
        org_id="o",
        version=1,
        session_id="s1",
        pair_id="p",
        participant_ids=["e", "m"],
        starts_at=NOW + starts_in,
        ends_at=NOW + starts_in + timedelta(hours=1),
    )


def test_pair_created_tells_both_people_who_and_why_and_to_agree_on_goals() -> None:
    event = PairCreated(
        org_id="o",
        version=1,
        pair_id="p",
        program_id="open",
        mentor_id="m",
        mentee_id="e",
        score=0.9,
        reasons=["offers python"],
    )
    messages = for_pair_created(event, PEOPLE)
    assert {m.recipient_id for m in messages} == {"m", "e"}
    to_mentee = next(m for m in messages if m.recipient_id == "e")
    assert "Grace Hopper" in to_mentee.title
    assert "offers python" in to_mentee.body
    assert "goals" in to_mentee.action
    assert all(m.category is Category.MATCHING for m in messages)


def test_session_missed_tells_every_participant_the_streak_and_to_reschedule() -> None:
    messages = for_session_missed(_missed(1), PEOPLE)
    assert [m.recipient_id for m in messages] == ["e", "m"]
    assert all(m.kind == "session_missed" and "new time" in m.action for m in messages)
    assert "2 missed in a row" in for_session_missed(_missed(2), PEOPLE)[0].body


def test_first_missed_session_does_not_escalate() -> None:
    assert all(m.category is not Category.ESCALATION for m in for_session_missed(_missed(1), PEOPLE))


def test_second_missed_session_in_a_row_escalates_to_program_admin() -> None:
    escalations = [m for m in for_session_missed(_missed(2), PEOPLE) if m.category is Category.ESCALATION]
    assert [(m.recipient_id, m.kind) for m in escalations] == [("admin", "session_missed_escalation")]
    assert "Ada and Grace Hopper" in escalations[0].title


def test_missed_session_shows_the_time_in_the_recipients_own_timezone() -> None:
    by_person = {m.recipient_id: m for m in for_session_missed(_missed(1), PEOPLE)}
    assert "04:00 (America/New_York)" in by_person["m"].body
    assert "09:00 (Europe/London)" in by_person["e"].body


def test_mentorship_request_reaches_the_mentor_with_message_and_deadline() -> None:
    event = MentorshipRequested(
        org_id="o",
        version=1,
        request_id="r",
        program_id="open",
        mentor_id="m",
        mentee_id="e",
        message="I'd love help with public speaking",
        answer_by=datetime(2026, 11, 27, 17, tzinfo=UTC),
    )
    [message] = for_mentorship_requested(event, PEOPLE)
    assert message.recipient_id == "m"
    assert "public speaking" in message.body
    assert "Fri 27 Nov 2026, 12:00 (America/New_York)" in message.action
    assert message.expires_at == event.answer_by


def test_scheduled_session_sends_notice_and_invite_now_reminder_before_and_agenda_prompt_to_mentee() -> None:
    messages = for_session_scheduled(
        _scheduled(timedelta(days=7)),
        PEOPLE,
        mentee_id="e",
        now=NOW,
        timing=SessionTiming(),
        organizer_email="mentorship@example.com",
    )
    kinds = sorted((m.recipient_id, m.kind) for m in messages)
    assert kinds == [
        ("e", "agenda_prompt"),
        ("e", "session_invite"),
        ("e", "session_reminder"),
        ("e", "session_scheduled"),
        ("m", "session_invite"),
        ("m", "session_reminder"),
        ("m", "session_scheduled"),
    ]
    reminder = next(m for m in messages if m.kind == "session_reminder")
    assert reminder.not_before == NOW + timedelta(days=6)
    assert reminder.expires_at == NOW + timedelta(days=7)
    invite = next(m for m in messages if m.kind == "session_invite")
    assert invite.channels == frozenset({NotificationChannel.EMAIL})
    assert invite.calendar is not None
    lines = unfold(invite.calendar)
    assert "DTSTART:20261127T120000Z" in lines
    assert any(line.startswith('ATTENDEE;CN="Ada"') and "mailto:ada@example.com" in line for line in lines)


def test_session_too_soon_for_a_useful_reminder_gets_only_the_notice_and_the_invite() -> None:
    messages = for_session_scheduled(
        _scheduled(timedelta(minutes=5)),
        PEOPLE,
        mentee_id="e",
        now=NOW,
        timing=SessionTiming(),
        organizer_email="mentorship@example.com",
    )
    assert {m.kind for m in messages} == {"session_invite", "session_scheduled"}


def test_session_within_the_reminder_lead_is_reminded_at_once() -> None:
    messages = for_session_scheduled(
        _scheduled(timedelta(hours=3)),
        PEOPLE,
        mentee_id="e",
        now=NOW,
        timing=SessionTiming(),
        organizer_email="mentorship@example.com",
    )
    reminders = [m for m in messages if m.kind == "session_reminder"]
    assert len(reminders) == 2
    assert all(m.not_before is not None and m.not_before <= NOW for m in reminders)


def test_stagnation_tells_the_pair_the_suggested_actions_and_high_severity_the_admins() -> None:
    def stagnant(severity: Severity) -> RelationshipStagnant:
        return RelationshipStagnant(
            org_id="o",
            version=3,
            pair_id="p",
            episode_id="ep",
            participant_ids=["e", "m"],
            reasons=["no_session_for_2x_cadence"],
            severity=severity,
            suggested_actions=["Book a 30 minute check-in this week."],
        )

    low = for_relationship_stagnant(stagnant(Severity.MEDIUM), PEOPLE)
    assert {m.recipient_id for m in low} == {"e", "m"}
    assert all("30 minute check-in" in m.body for m in low)
    assert all(
        "No session has taken place for more than 2 times the agreed interval between sessions." in m.body
        for m in low
    )
    high = for_relationship_stagnant(stagnant(Severity.HIGH), PEOPLE)
    assert {(m.recipient_id, m.category) for m in high if m.recipient_id == "admin"} == {
        ("admin", Category.ESCALATION)
    }


def test_overdue_action_item_goes_to_its_owner_only() -> None:
    event = ActionItemOverdue(
        org_id="o",
        version=1,
        action_item_id="a",
        pair_id="p",
        owner_id="e",
        title="Read chapter 3",
        due_at=datetime(2026, 11, 19, tzinfo=UTC),
    )
    [message] = for_action_item_overdue(event, PEOPLE)
    assert message.recipient_id == "e"
    assert "Read chapter 3" in message.title


def test_goal_achieved_celebrates_with_both() -> None:
    event = GoalAchieved(
        org_id="o", version=1, goal_id="g", pair_id="p", participant_ids=["e", "m"], title="Ship it"
    )
    messages = for_goal_achieved(event, PEOPLE)
    assert {m.recipient_id for m in messages} == {"e", "m"}
    assert all("Congratulations" in m.body for m in messages)


def test_pair_ended_tells_both_what_is_next() -> None:
    event = PairEnded(
        org_id="o",
        version=5,
        pair_id="p",
        program_id="open",
        mentor_id="m",
        mentee_id="e",
        reason=PairEndReason.COMPLETED,
        ended_at=NOW,
    )
    messages = for_pair_ended(event, PEOPLE)
    assert {m.recipient_id for m in messages} == {"e", "m"}
    assert all("mentoring someone" in m.action for m in messages)


def test_unknown_people_are_named_by_role_not_left_blank() -> None:
    event = PairCreated(
        org_id="o", version=1, pair_id="p", program_id="open", mentor_id="x", mentee_id="y", score=0.5
    )
    titles = {m.recipient_id: m.title for m in for_pair_created(event, Directory())}
    assert titles == {"y": "You have a mentor: your mentor", "x": "You have a new mentee: your mentee"}


def _declined(reason: str) -> PairDeclined:
    return PairDeclined(
        org_id="o", version=2, request_id="r", program_id="open", mentor_id="m", mentee_id="e", reason=reason
    )


def test_declined_request_tells_the_mentee_why_with_wording_per_reason() -> None:
    bodies = {}
    for reason in ("declined", "expired", "mentor_unavailable"):
        [message] = for_pair_declined(_declined(reason), PEOPLE)
        assert (message.recipient_id, message.kind, message.category) == (
            "e",
            "request_declined",
            Category.MATCHING,
        )
        assert message.subject_id == "r"
        assert "Grace Hopper" in message.title
        bodies[reason] = message.body
    assert bodies["declined"].startswith("Grace Hopper declined your mentorship request.")
    assert "did not answer your mentorship request in time" in bodies["expired"]
    assert "next suggested mentor, we have asked them" in bodies["expired"]
    assert "cannot take on a new mentee at the moment" in bodies["mentor_unavailable"]


def test_withdrawn_request_tells_the_mentor_not_the_mentee() -> None:
    [message] = for_pair_declined(_declined("withdrawn"), PEOPLE)
    assert (message.recipient_id, message.kind) == ("m", "request_withdrawn")
    assert message.title == "Ada withdrew their mentorship request"
    assert "no longer need to answer" in message.action


def test_declined_request_with_an_unknown_reason_or_mentor_still_reads_well() -> None:
    [closed] = for_pair_declined(_declined("program_closed"), PEOPLE)
    assert (closed.recipient_id, closed.title) == ("e", "Your mentorship request to Grace Hopper was closed")
    [declined] = for_pair_declined(_declined("declined"), Directory())
    assert declined.title == "The mentor you asked declined your mentorship request"
    [expired] = for_pair_declined(_declined("expired"), Directory())
    assert expired.title == "Your mentorship request to the mentor you asked expired"


def _proposed() -> MatchProposed:
    return MatchProposed(
        org_id="o",
        version=1,
        proposal_id="prop",
        run_id="run",
        program_id="open",
        mentor_id="m",
        mentee_id="e",
        score=0.87,
        reasons=["offers python"],
    )


def test_match_proposal_asks_the_program_admins_to_approve_and_tells_the_pair_nothing_yet() -> None:
    [message] = for_match_proposed(_proposed(), PEOPLE)
    assert (message.recipient_id, message.kind, message.category) == (
        "admin",
        "match_proposed",
        Category.ESCALATION,
    )
    assert message.title == "Proposed match awaiting approval: Ada with Grace Hopper"
    assert "offers python" in message.body
    assert "0.87" in message.body
    assert "Approve" in message.action
    assert message.subject_id == "prop"


def test_match_proposal_without_escalation_contacts_or_to_an_admin_in_the_pair_tells_no_one() -> None:
    assert for_match_proposed(_proposed(), Directory(PEOPLE.people)) == []
    assert for_match_proposed(_proposed(), Directory(PEOPLE.people, admins=["m"])) == []


def _circle(rota: list[str]) -> CircleFormed:
    return CircleFormed(
        org_id="o",
        version=1,
        circle_id="c",
        program_id="circles",
        member_ids=["e", "m", "admin", "x"],
        facilitator_rota=rota,
        topics=["public speaking", "leadership"],
    )


def test_circle_formed_tells_every_member_the_topics_and_who_facilitates_first() -> None:
    messages = for_circle_formed(_circle(["m", "e", "admin", "x"]), PEOPLE)
    assert [m.recipient_id for m in messages] == ["e", "m", "admin", "x"]
    assert all(m.kind == "circle_formed" and m.category is Category.MATCHING for m in messages)
    assert all(m.subject_id == "c" for m in messages)
    assert all(
        "public speaking, leadership" in m.title and "Topics: public speaking" in m.body for m in messages
    )
    by_person = {m.recipient_id: m for m in messages}
    assert "You facilitate the first meeting" in by_person["m"].action
    assert by_person["e"].action == "Look out for the first meeting, facilitated by Grace Hopper."
    # Other members by name; people we have no profile of are counted, not left blank.
    assert "with Grace Hopper, Pat Admin and 1 more colleague." in by_person["e"].body
    assert "with Ada, Grace Hopper and Pat Admin." in by_person["x"].body


def test_circle_without_a_rota_asks_the_members_to_agree_a_facilitator() -> None:
    messages = for_circle_formed(_circle([]), PEOPLE)
    assert {m.action for m in messages} == {"Agree who facilitates your first meeting."}
