"""What every message builder shares: the message, the people it may name (with their timezone and
language), and how far ahead of a session reminders go out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mentorship_schemas.events import NotificationChannel

from notifications.domain.preferences import Category
from notifications.domain.texts import Texts, texts_for

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
    language: str = "en"  # the language it is written in (the recipient's)


@dataclass(frozen=True)
class Directory:
    """The people a message may mention, and the org's escalation contacts."""

    people: Mapping[str, Person] = field(default_factory=dict)
    admins: Sequence[str] = ()
    erased: frozenset[str] = frozenset()  # people among them who were erased

    def texts(self, person_id: str) -> Texts:
        """The words for this recipient: their locale's, English for an unknown one."""
        person = self.people.get(person_id)
        return texts_for(person.locale if person is not None else None)

    def name(self, person_id: str, fallback: str) -> str:
        person = self.people.get(person_id)
        return person.display_name if person is not None and person.display_name else fallback

    def local_time(self, moment: datetime, person_id: str) -> str:
        """`moment` as `person_id` reads it: their timezone, their language."""
        person = self.people.get(person_id)
        return self.texts(person_id).when(moment, person.timezone if person is not None else "UTC")

    def others(
        self, person_id: str, participant_ids: Sequence[str], unknown: str = "someone.partner_with"
    ) -> str:
        """Everyone but `person_id`, by name, listed in their language; `unknown` is the catalogue
        key for someone without a name (by default as it reads after "with")."""
        texts = self.texts(person_id)
        others = [p for p in participant_ids if p != person_id]
        names = [name for p in others if (name := self.name(p, ""))]
        if len(names) < len(others) or not names:
            names.append(texts(unknown))  # once, however many we cannot name
        return texts.listed(names)


def said(*sentences: str) -> str:
    """Sentences as one text (empty ones left out)."""
    return " ".join(sentence for sentence in sentences if sentence)


@dataclass(frozen=True)
class SessionTiming:
    """How far ahead of a session people are reminded (the service's settings)."""

    reminder_lead: timedelta = timedelta(hours=24)
    agenda_prompt_lead: timedelta = timedelta(hours=4)
    # A reminder that could only go out closer to the start than this is not sent at all.
    minimum_notice: timedelta = timedelta(minutes=15)
