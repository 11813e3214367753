"""The iCalendar (RFC 5545) invite attached to a scheduled session's email, built by hand: CRLF
line ends, text escaping and line folding at 75 octets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from servicekit.icalendar import escape_text, fold, utc_stamp

PRODUCT_ID = "-//Mentorship platform//Notifications//EN"


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str


def _param(value: str) -> str:
    """A parameter value: quoted, without the characters a quoted value cannot hold."""
    return '"' + value.replace('"', "'").replace("\r", " ").replace("\n", " ") + '"'


def session_invite(
    *,
    uid: str,
    sequence: int,
    starts_at: datetime,
    ends_at: datetime,
    stamp: datetime,
    summary: str,
    description: str,
    organizer: Attendee,
    alarm: str = "Mentorship session",
    attendees: Sequence[Attendee],
) -> str:
    """A METHOD:REQUEST calendar with one event; `uid` stays the same across reschedules and
    `sequence` (the session's version) grows, so calendars update the entry instead of adding one."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(starts_at)}",
        f"DTEND:{utc_stamp(ends_at)}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"ORGANIZER;CN={_param(organizer.name)}:mailto:{organizer.email}",
        *(
            f"ATTENDEE;CN={_param(a.name)};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{a.email}"
            for a in attendees
        ),
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(alarm)}",
        "TRIGGER:-PT15M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def unfold(text: str) -> list[str]:
    """The content lines of an iCalendar text (the inverse of folding), for readers and tests."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]
