"""iCalendar (RFC 5545) text for one session, written by hand: escaped TEXT values, CRLF line
ends, and lines folded at 75 octets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from servicekit.icalendar import escape_text, fold, utc_stamp

PRODID = "-//Mentorship Platform//Sessions//EN"


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
    attendees: Sequence[str] = ()  # participant ids (the portal maps them to addresses)


def session_ics(session: CalendarSession, domain: str = "mentorship.example") -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
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
    for attendee in session.attendees:
        lines.append(f"ATTENDEE;CN={_param(attendee)}:urn:mentorship:person:{attendee}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def _param(value: str) -> str:
    # A parameter value with ; : or , must be quoted; DQUOTE itself is not allowed.
    cleaned = value.replace('"', "'")
    return f'"{cleaned}"' if any(c in cleaned for c in ";:,") else cleaned
