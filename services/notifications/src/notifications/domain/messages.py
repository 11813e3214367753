"""What each event tells each person, with the action to take: pure functions from an event (and
what we know of the people in it) to messages. Times are shown in the recipient's own timezone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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

from notifications.domain.calendar import Attendee, session_invite
from notifications.domain.preferences import Category, zone

ALL_CHANNELS = frozenset(NotificationChannel)
ESCALATE_AFTER_MISSED_IN_A_ROW = 2
# Sent ahead of a session, so withdrawn when it is rescheduled or cancelled.
SESSION_REMINDER_KINDS = frozenset({"session_reminder", "agenda_prompt"})


@dataclass(frozen=True)
class Person:
    """What a message needs to know of a person (our own copy, from profile events)."""

    person_id: str
    display_name: str | None = None
    email: str | None = None
    timezone: str = "UTC"
    locale: str = "en"


@dataclass(frozen=True)
class Message:
    recipient_id: str
    kind: str
    category: Category
    title: str
    body: str
    action: str  # the one thing to do now, in words
    channels: frozenset[NotificationChannel] = ALL_CHANNELS
    not_before: datetime | None = None  # reminders: not before this moment
    expires_at: datetime | None = None  # pointless from this moment on (the session started)
    calendar: str | None = None  # iCalendar text to attach (email)
    subject_id: str | None = None  # the session, pair, ... it is about


@dataclass(frozen=True)
class Directory:
    """The people a message may mention, and the org's escalation contacts."""

    people: Mapping[str, Person] = field(default_factory=dict)
    admins: Sequence[str] = ()

    def name(self, person_id: str, fallback: str) -> str:
        person = self.people.get(person_id)
        return person.display_name if person is not None and person.display_name else fallback

    def local_time(self, moment: datetime, person_id: str) -> str:
        person = self.people.get(person_id)
        tz_name = person.timezone if person is not None else "UTC"
        local = moment.astimezone(zone(tz_name))
        return f"{local:%a %d %b %Y, %H:%M} ({tz_name})"

    def others(self, person_id: str, participant_ids: Sequence[str]) -> str:
        names = [self.name(p, "your partner") for p in participant_ids if p != person_id]
        return " and ".join(names) or "your partner"


@dataclass(frozen=True)
class SessionTiming:
    """How far ahead of a session people are reminded (the service's settings)."""

    reminder_lead: timedelta = timedelta(hours=24)
    agenda_prompt_lead: timedelta = timedelta(hours=4)
    # A reminder that could only go out closer to the start than this is not sent at all.
    minimum_notice: timedelta = timedelta(minutes=15)


def for_pair_created(event: PairCreated, directory: Directory) -> list[Message]:
    mentor = directory.name(event.mentor_id, "your mentor")
    mentee = directory.name(event.mentee_id, "your mentee")
    why = f" Why: {'; '.join(event.reasons)}." if event.reasons else ""
    action = "Agree on your goals and how often you will meet in your first session."
    return [
        Message(
            event.mentee_id,
            "pair_created",
            Category.MATCHING,
            f"You have a mentor: {mentor}",
            f"You and {mentor} are now a mentorship pair.{why} {action}",
            action,
            subject_id=event.pair_id,
        ),
        Message(
            event.mentor_id,
            "pair_created",
            Category.MATCHING,
            f"You have a new mentee: {mentee}",
            f"You and {mentee} are now a mentorship pair.{why} {action}",
            action,
            subject_id=event.pair_id,
        ),
    ]


def for_mentorship_requested(event: MentorshipRequested, directory: Directory) -> list[Message]:
    mentee = directory.name(event.mentee_id, "A colleague")
    deadline = directory.local_time(event.answer_by, event.mentor_id)
    note = f' They wrote: "{event.message}"' if event.message else ""
    action = f"Accept or decline by {deadline}; after that the request expires."
    return [
        Message(
            event.mentor_id,
            "mentorship_requested",
            Category.MATCHING,
            f"{mentee} asks you to be their mentor",
            f"{mentee} would like you as their mentor.{note} {action}",
            action,
            expires_at=event.answer_by,
            subject_id=event.request_id,
        )
    ]


# Why a request ended (PairDeclined's `reason`), as the mentee hears it: title, what happened, what
# now. `{Mentor}` starts a sentence, `{mentor}` does not (they differ only for an unknown mentor).
_REQUEST_ENDED = {
    "declined": (
        "{Mentor} declined your mentorship request",
        "{Mentor} declined your mentorship request.",
        "Ask another suggested mentor, or ask for a new match.",
    ),
    "expired": (
        "Your mentorship request to {mentor} expired",
        "{Mentor} did not answer your mentorship request in time, so it has expired. If there was "
        "a next suggested mentor, we have asked them.",
        "Wait for the next mentor's answer, or ask for a new match if none was suggested.",
    ),
    "mentor_unavailable": (
        "{Mentor} is no longer available as a mentor",
        "{Mentor} is no longer available as a mentor, so your request was closed.",
        "Ask another suggested mentor, or ask for a new match.",
    ),
}
_REQUEST_CLOSED = (
    "Your mentorship request to {mentor} was closed",
    "Your mentorship request to {mentor} was closed.",
    "Ask another suggested mentor, or ask for a new match.",
)


def for_pair_declined(event: PairDeclined, directory: Directory) -> list[Message]:
    """The mentee hears why their request ended and what now; a request the mentee withdrew
    themselves tells the mentor instead, who no longer needs to answer it."""
    if event.reason == "withdrawn":
        mentee = directory.name(event.mentee_id, "A colleague")
        action = "Nothing to do: you no longer need to answer it."
        return [
            Message(
                event.mentor_id,
                "request_withdrawn",
                Category.MATCHING,
                f"{mentee} withdrew their mentorship request",
                f"{mentee} withdrew their request for you to be their mentor. {action}",
                action,
                subject_id=event.request_id,
            )
        ]
    names = {
        "Mentor": directory.name(event.mentor_id, "The mentor you asked"),
        "mentor": directory.name(event.mentor_id, "the mentor you asked"),
    }
    title, body, action = _REQUEST_ENDED.get(event.reason, _REQUEST_CLOSED)
    return [
        Message(
            event.mentee_id,
            "request_declined",
            Category.MATCHING,
            title.format(**names),
            f"{body.format(**names)} {action}",
            action,
            subject_id=event.request_id,
        )
    ]


def for_match_proposed(event: MatchProposed, directory: Directory) -> list[Message]:
    """A proposed pair awaits a program admin's approval: the org's escalation contacts hear of it.
    The mentee and mentor hear nothing yet (PairCreated tells them once it is approved)."""
    mentee = directory.name(event.mentee_id, event.mentee_id)
    mentor = directory.name(event.mentor_id, event.mentor_id)
    why = f" Why: {'; '.join(event.reasons)}." if event.reasons else ""
    action = "Approve or reject the proposed match."
    return [
        Message(
            admin,
            "match_proposed",
            Category.ESCALATION,
            f"Proposed match awaiting approval: {mentee} with {mentor}",
            f"Matching proposes {mentor} as the mentor of {mentee} in program {event.program_id} "
            f"(score {event.score:.2f}).{why} {action}",
            action,
            subject_id=event.proposal_id,
        )
        for admin in directory.admins
        if admin not in (event.mentor_id, event.mentee_id)
    ]


def _listed(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else "".join(names)


def for_circle_formed(event: CircleFormed, directory: Directory) -> list[Message]:
    """Every member: who else is in the circle, its topics, and who facilitates the first meeting
    (the first of the rota)."""
    members = list(dict.fromkeys(event.member_ids))
    first = event.facilitator_rota[0] if event.facilitator_rota else None
    topics = ", ".join(event.topics)
    messages = []
    for member in members:
        others = [p for p in members if p != member]
        named = [name for p in others if (name := directory.name(p, ""))]
        if unnamed := len(others) - len(named):
            more = " more" if named else ""
            named.append(f"{unnamed}{more} colleague{'s' if unnamed > 1 else ''}")
        if first is None:
            action = "Agree who facilitates your first meeting."
        elif first == member:
            action = "You facilitate the first meeting: welcome everyone and set its agenda."
        else:
            facilitator = directory.name(first, "a member of the circle")
            action = f"Look out for the first meeting, facilitated by {facilitator}."
        messages.append(
            Message(
                member,
                "circle_formed",
                Category.MATCHING,
                f"You are in a mentoring circle{f' on {topics}' if topics else ''}",
                f"You are in a new mentoring circle with {_listed(named) or 'other members'}."
                f"{f' Topics: {topics}.' if topics else ''} {action}",
                action,
                subject_id=event.circle_id,
            )
        )
    return messages


def _session_invite(
    event: SessionScheduled, directory: Directory, person_id: str, *, now: datetime, organizer_email: str
) -> Message:
    """The calendar invite, by email (iCalendar attached), naming everyone with an address."""
    others = directory.others(person_id, event.participant_ids)
    when = directory.local_time(event.starts_at, person_id)
    attendees = [
        Attendee(directory.name(p, p), person.email)
        for p in event.participant_ids
        if (person := directory.people.get(p)) is not None and person.email
    ]
    calendar = session_invite(
        uid=f"session-{event.session_id}@mentorship",
        sequence=event.version,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        stamp=now,
        summary=f"Mentorship session with {others}",
        description="Your mentorship session. Bring your agenda and your action items.",
        organizer=Attendee("Mentorship program", organizer_email),
        attendees=attendees,
    )
    return Message(
        person_id,
        "session_invite",
        Category.SESSIONS,
        f"Session with {others} on {when}",
        f"Your mentorship session with {others} is scheduled for {when}. The calendar invite is attached.",
        "Add the session to your calendar.",
        channels=frozenset({NotificationChannel.EMAIL}),
        expires_at=event.ends_at,  # still worth having while the session runs
        calendar=calendar,
        subject_id=event.session_id,
    )


def for_session_scheduled(
    event: SessionScheduled,
    directory: Directory,
    *,
    mentee_id: str | None,
    now: datetime,
    timing: SessionTiming,
    organizer_email: str,
) -> list[Message]:
    """The calendar invite (email) at once, a reminder `reminder_lead` before, and a prompt to the
    mentee to prepare the agenda `agenda_prompt_lead` before. Reminders that could not give the
    minimum notice any more are left out."""
    messages: list[Message] = []
    for person_id in event.participant_ids:
        messages.append(
            _session_invite(event, directory, person_id, now=now, organizer_email=organizer_email)
        )
        others = directory.others(person_id, event.participant_ids)
        when = directory.local_time(event.starts_at, person_id)
        remind_at = event.starts_at - timing.reminder_lead
        if event.starts_at - max(now, remind_at) >= timing.minimum_notice:
            action = "Check the time and your open action items."
            messages.append(
                Message(
                    person_id,
                    "session_reminder",
                    Category.SESSIONS,
                    f"Reminder: session with {others} on {when}",
                    f"Your mentorship session with {others} starts {when}. {action}",
                    action,
                    not_before=remind_at,
                    expires_at=event.starts_at,
                    subject_id=event.session_id,
                )
            )
    prompt_at = event.starts_at - timing.agenda_prompt_lead
    preparers = [mentee_id] if mentee_id in event.participant_ids else list(event.participant_ids)
    if event.starts_at - max(now, prompt_at) >= timing.minimum_notice:
        for person_id in preparers:
            assert person_id is not None
            others = directory.others(person_id, event.participant_ids)
            when = directory.local_time(event.starts_at, person_id)
            action = "Add the topics you want to discuss to the session's agenda."
            messages.append(
                Message(
                    person_id,
                    "agenda_prompt",
                    Category.SESSIONS,
                    "Prepare the agenda for your next session",
                    f"Your session with {others} is on {when}. {action}",
                    action,
                    not_before=prompt_at,
                    expires_at=event.starts_at,
                    subject_id=event.session_id,
                )
            )
    return messages


def for_session_missed(event: SessionMissed, directory: Directory) -> list[Message]:
    """Both people, with a reschedule prompt; from the second miss in a row, the program admins."""
    streak = f" That is {event.missed_in_a_row} missed in a row." if event.missed_in_a_row > 1 else ""
    action = "Pick a new time now."
    messages = [
        Message(
            person,
            "session_missed",
            Category.SESSIONS,
            "Your mentorship session was missed",
            f"The session with {directory.others(person, event.participant_ids)} planned for "
            f"{directory.local_time(event.starts_at, person)} did not take place.{streak} {action}",
            action,
            subject_id=event.session_id,
        )
        for person in event.participant_ids
    ]
    if event.missed_in_a_row >= ESCALATE_AFTER_MISSED_IN_A_ROW:
        pair = " and ".join(directory.name(p, p) for p in event.participant_ids)
        action = "Check in with the pair: is the cadence right, is something in the way?"
        messages += [
            Message(
                admin,
                "session_missed_escalation",
                Category.ESCALATION,
                f"{pair} missed {event.missed_in_a_row} sessions in a row",
                f"The mentorship pair {pair} has missed {event.missed_in_a_row} sessions in a row, "
                f"the last planned for {directory.local_time(event.starts_at, admin)}. {action}",
                action,
                subject_id=event.pair_id,
            )
            for admin in directory.admins
            if admin not in event.participant_ids
        ]
    return messages


_STAGNATION_ACTIONS = ["Book your next session now.", "Revisit your goals together."]


def for_relationship_stagnant(event: RelationshipStagnant, directory: Directory) -> list[Message]:
    """The pair, with the suggested actions; at high severity the program admins as well."""
    actions = event.suggested_actions or _STAGNATION_ACTIONS
    reasons = ", ".join(r.replace("_", " ") for r in event.reasons)
    action = " ".join(actions)
    messages = [
        Message(
            person,
            "relationship_stagnant",
            Category.PROGRESS,
            f"Your mentorship with {directory.others(person, event.participant_ids)} has slowed down",
            f"We noticed: {reasons}. Suggested: {action}",
            actions[0],
            subject_id=event.pair_id,
        )
        for person in event.participant_ids
    ]
    if event.severity is Severity.HIGH:
        pair = " and ".join(directory.name(p, p) for p in event.participant_ids)
        messages += [
            Message(
                admin,
                "relationship_stagnant_escalation",
                Category.ESCALATION,
                f"The mentorship of {pair} is stagnating",
                f"High severity: {reasons}. Suggested to the pair: {action} "
                "Consider reaching out or re-matching.",
                "Reach out to the pair.",
                subject_id=event.pair_id,
            )
            for admin in directory.admins
            if admin not in event.participant_ids
        ]
    return messages


def for_action_item_overdue(event: ActionItemOverdue, directory: Directory) -> list[Message]:
    due = directory.local_time(event.due_at, event.owner_id)
    action = "Finish it, or agree a new date in your next session."
    return [
        Message(
            event.owner_id,
            "action_item_overdue",
            Category.PROGRESS,
            f"Overdue: {event.title}",
            f'Your action item "{event.title}" was due {due}. {action}',
            action,
            subject_id=event.action_item_id,
        )
    ]


def for_goal_achieved(event: GoalAchieved, directory: Directory) -> list[Message]:
    action = "Celebrate, then pick your next goal together."
    return [
        Message(
            person,
            "goal_achieved",
            Category.PROGRESS,
            f"Goal achieved: {event.title}",
            f'Congratulations: you and {directory.others(person, event.participant_ids)} achieved "'
            f'{event.title}". {action}',
            action,
            subject_id=event.goal_id,
        )
        for person in event.participant_ids
    ]


_WHAT_NEXT = {
    PairEndReason.COMPLETED: "Share your feedback, and consider mentoring someone yourself.",
    PairEndReason.NOT_A_FIT: "You can ask for a new match whenever you are ready.",
    PairEndReason.STAGNANT: "You can ask for a new match whenever you are ready.",
}


def for_pair_ended(event: PairEnded, directory: Directory) -> list[Message]:
    action = _WHAT_NEXT.get(event.reason, "You can ask for a new match whenever you are ready.")
    reason = event.reason.value.replace("_", " ")
    return [
        Message(
            person,
            "pair_ended",
            Category.MATCHING,
            f"Your mentorship with {directory.others(person, [event.mentor_id, event.mentee_id])} ended",
            f"Your mentorship with {directory.others(person, [event.mentor_id, event.mentee_id])} "
            f"has ended ({reason}). {action}",
            action,
            subject_id=event.pair_id,
        )
        for person in (event.mentee_id, event.mentor_id)
    ]
