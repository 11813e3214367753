"""What sessions tell each person: a session scheduled or moved (a notice in the feed, the calendar
invite by email, a reminder and an agenda prompt before it) and a session missed (with the
program admins told from the second miss in a row). Times in each recipient's own timezone."""

from __future__ import annotations

from datetime import datetime

from mentorship_schemas import SessionMissed, SessionScheduled
from mentorship_schemas.events import NotificationChannel

from notifications.domain.calendar import Attendee, session_invite
from notifications.domain.messages.base import (
    ESCALATE_AFTER_MISSED_IN_A_ROW,
    Directory,
    Message,
    SessionTiming,
    said,
)
from notifications.domain.preferences import Category


def _session_invite(
    event: SessionScheduled, directory: Directory, person_id: str, *, now: datetime, organizer_email: str
) -> Message:
    """The calendar invite, by email (iCalendar attached), naming everyone with an address."""
    texts = directory.texts(person_id)
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
        summary=texts("calendar.summary", others=others),
        description=texts("calendar.description"),
        alarm=texts("calendar.alarm"),
        organizer=Attendee(texts("program.name"), organizer_email),
        attendees=attendees,
    )
    action = texts("session_invite.action")
    return Message(
        person_id,
        "session_invite",
        Category.SESSIONS,
        texts("session_invite.title", others=others, when=when),
        texts("session_invite.body", others=others, when=when),
        action,
        channels=frozenset({NotificationChannel.EMAIL}),
        expires_at=event.ends_at,  # still worth having while the session runs
        calendar=calendar,
        subject_id=event.session_id,
        language=texts.language,
    )


def _session_notice(event: SessionScheduled, directory: Directory, person_id: str, *, moved: bool) -> Message:
    """The feed's notice that a session is scheduled (or moved), at the recipient's local time."""
    texts = directory.texts(person_id)
    wording = "session_scheduled.moved" if moved else "session_scheduled"
    values = {
        "others": directory.others(person_id, event.participant_ids),
        "when": directory.local_time(event.starts_at, person_id),
    }
    action = texts("session_scheduled.action")
    return Message(
        person_id,
        "session_scheduled",
        Category.SESSIONS,
        texts(f"{wording}.title", **values),
        said(texts(f"{wording}.body", **values), action),
        action,
        channels=frozenset({NotificationChannel.IN_APP}),  # email has the invite
        expires_at=event.ends_at,
        subject_id=event.session_id,
        language=texts.language,
    )


def _ahead(
    event: SessionScheduled, directory: Directory, person_id: str, kind: str, not_before: datetime
) -> Message:
    """A message ahead of the session (reminder, agenda prompt), pointless once it starts."""
    texts = directory.texts(person_id)
    values = {
        "others": directory.others(person_id, event.participant_ids),
        "when": directory.local_time(event.starts_at, person_id),
    }
    action = texts(f"{kind}.action")
    return Message(
        person_id,
        kind,
        Category.SESSIONS,
        texts(f"{kind}.title", **values),
        said(texts(f"{kind}.body", **values), action),
        action,
        not_before=not_before,
        expires_at=event.starts_at,
        subject_id=event.session_id,
        language=texts.language,
    )


def for_session_scheduled(
    event: SessionScheduled,
    directory: Directory,
    *,
    mentee_id: str | None,
    now: datetime,
    timing: SessionTiming,
    organizer_email: str,
    moved: bool = False,
) -> list[Message]:
    """A notice in the feed and the calendar invite (email) at once, a reminder `reminder_lead`
    before, and a prompt to the mentee to prepare the agenda `agenda_prompt_lead` before. Reminders
    that could not give the minimum notice any more are left out. `moved`: a reschedule."""
    messages: list[Message] = []
    remind_at = event.starts_at - timing.reminder_lead
    for person_id in event.participant_ids:
        messages.append(_session_notice(event, directory, person_id, moved=moved))
        messages.append(
            _session_invite(event, directory, person_id, now=now, organizer_email=organizer_email)
        )
        if event.starts_at - max(now, remind_at) >= timing.minimum_notice:
            messages.append(_ahead(event, directory, person_id, "session_reminder", remind_at))
    prompt_at = event.starts_at - timing.agenda_prompt_lead
    preparers = [mentee_id] if mentee_id in event.participant_ids else list(event.participant_ids)
    if event.starts_at - max(now, prompt_at) >= timing.minimum_notice:
        messages += [
            _ahead(event, directory, person_id, "agenda_prompt", prompt_at)
            for person_id in preparers
            if person_id is not None
        ]
    return messages


def for_session_missed(event: SessionMissed, directory: Directory) -> list[Message]:
    """Both people, with a reschedule prompt; from the second miss in a row, the program admins."""
    messages = []
    for person in event.participant_ids:
        texts = directory.texts(person)
        body = texts(
            "session_missed.body",
            others=directory.others(person, event.participant_ids),
            when=directory.local_time(event.starts_at, person),
        )
        streak = (
            texts("session_missed.streak", count=event.missed_in_a_row) if event.missed_in_a_row > 1 else ""
        )
        action = texts("session_missed.action")
        messages.append(
            Message(
                person,
                "session_missed",
                Category.SESSIONS,
                texts("session_missed.title"),
                said(body, streak, action),
                action,
                subject_id=event.session_id,
                language=texts.language,
            )
        )
    if event.missed_in_a_row >= ESCALATE_AFTER_MISSED_IN_A_ROW:
        messages += [
            _missed_escalation(event, directory, admin)
            for admin in directory.admins
            if admin not in event.participant_ids
        ]
    return messages


def _missed_escalation(event: SessionMissed, directory: Directory, admin: str) -> Message:
    texts = directory.texts(admin)
    pair = texts.listed([directory.name(p, p) for p in event.participant_ids])
    values = {"pair": pair, "count": event.missed_in_a_row}
    action = texts("session_missed_escalation.action")
    return Message(
        admin,
        "session_missed_escalation",
        Category.ESCALATION,
        texts("session_missed_escalation.title", **values),
        said(
            texts(
                "session_missed_escalation.body", when=directory.local_time(event.starts_at, admin), **values
            ),
            action,
        ),
        action,
        subject_id=event.pair_id,
        language=texts.language,
    )
