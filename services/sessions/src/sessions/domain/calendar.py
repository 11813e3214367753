"""iCalendar (RFC 5545) text for one session, written by hand: escaped TEXT values, CRLF line
ends, lines folded at 75 octets. With an organizer it is an invitation (RFC 5546): METHOD:REQUEST,
or METHOD:CANCEL once cancelled, and each attendee by name and email address."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from servicekit.icalendar import escape_text, fold, utc_stamp

PRODID = "-//Mentorship Platform//Sessions//EN"


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str


@dataclass(frozen=True)
class CalendarSession:
    session_id: str
    summary: str
    starts_at: datetime
    ends_at: datetime
    stamp: datetime  # when the representation was made (DTSTAMP)
    sequence: int  # bumps on every reschedule, so calendars replace the old one
    cancelled: bool = False
    location: str | None = None
    description: str | None = None
    organizer: Attendee | None = None
    attendees: Sequence[Attendee] = ()  # the people we can reach (the organizer among them)


def session_ics(session: CalendarSession, domain: str = "mentorship.example") -> str:
    method = "PUBLISH" if session.organizer is None else "CANCEL" if session.cancelled else "REQUEST"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{session.session_id}@{domain}",
        f"DTSTAMP:{utc_stamp(session.stamp)}",
        f"DTSTART:{utc_stamp(session.starts_at)}",
        f"DTEND:{utc_stamp(session.ends_at)}",
        f"SEQUENCE:{session.sequence}",
        f"STATUS:{'CANCELLED' if session.cancelled else 'CONFIRMED'}",
        f"SUMMARY:{escape_text(session.summary)}",
    ]
    if session.location:
        lines.append(f"LOCATION:{escape_text(session.location)}")
    if session.description:
        lines.append(f"DESCRIPTION:{escape_text(session.description)}")
    if session.organizer is not None:
        lines.append(f"ORGANIZER;CN={_param(session.organizer.name)}:mailto:{session.organizer.email}")
    for attendee in session.attendees:
        chair = session.organizer is not None and attendee.email == session.organizer.email
        role = "CHAIR" if chair else "REQ-PARTICIPANT"
        lines.append(
            f"ATTENDEE;CN={_param(attendee.name)};ROLE={role};PARTSTAT="
            f"{'ACCEPTED' if chair else 'NEEDS-ACTION'};RSVP={'FALSE' if chair else 'TRUE'}"
            f":mailto:{attendee.email}"
        )
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def _param(value: str) -> str:
    # A parameter value with ; : or , must be quoted; DQUOTE itself is not allowed, nor are
    # control characters.
    cleaned = "".join(c for c in value.replace('"', "'") if c >= " " and c != "\x7f")
    return f'"{cleaned}"' if any(c in cleaned for c in ";:,") else cleaned
