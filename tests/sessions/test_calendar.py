"""A session as iCalendar text (RFC 5545): escaping, folding, CRLF, UTC times, and an invitation
(RFC 5546) with its organizer and attendees, read back by a real calendar parser (icalendar)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from servicekit.icalendar import escape_text, fold
from sessions.domain.calendar import Attendee, CalendarSession, session_ics

pytestmark = pytest.mark.fast

STARTS = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
ADA = Attendee("Ada Lovelace", "ada@example.com")
GRACE = Attendee("Grace Hopper", "grace@example.com")
O_NEIL = Attendee('O"Neil, Kate; PhD', "kate@example.com")  # quotes are not allowed in a parameter


def _session(**kw: object) -> CalendarSession:
    base: dict[str, object] = {
        "session_id": "s-1",
        "summary": "Mentoring session",
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=1),
        "stamp": datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        "sequence": 0,
    }
    base.update(kw)
    return CalendarSession(**base)  # type: ignore[arg-type]


def test_session_is_a_vevent_with_utc_times_and_crlf_lines() -> None:
    text = session_ics(_session(location="Room 4, floor 2", attendees=[ADA, GRACE], organizer=GRACE))
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")
    lines = text.split("\r\n")
    assert "DTSTART:20261201T150000Z" in lines
    assert "DTEND:20261201T160000Z" in lines
    assert "UID:s-1@mentorship.example" in lines
    assert "STATUS:CONFIRMED" in lines
    assert "LOCATION:Room 4\\, floor 2" in lines
    assert "\n" not in text.replace("\r\n", "")
    assert "urn:" not in text


def test_an_invitation_names_its_organizer_and_attendees_by_name_and_email_for_a_real_parser() -> None:
    calendar = icalendar.Calendar.from_ical(
        session_ics(_session(attendees=[ADA, GRACE, O_NEIL], organizer=GRACE))
    )
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    organizer = event["ORGANIZER"]
    assert (str(organizer), organizer.params["CN"]) == ("mailto:grace@example.com", "Grace Hopper")
    attendees = [(str(a), a.params["CN"], a.params["ROLE"], a.params["RSVP"]) for a in event["ATTENDEE"]]
    assert attendees == [
        ("mailto:ada@example.com", "Ada Lovelace", "REQ-PARTICIPANT", "TRUE"),
        ("mailto:grace@example.com", "Grace Hopper", "CHAIR", "FALSE"),
        ("mailto:kate@example.com", "O'Neil, Kate; PhD", "REQ-PARTICIPANT", "TRUE"),
    ]
    assert event.decoded("DTSTART") == STARTS


def test_a_cancelled_invitation_is_a_cancel_and_without_an_organizer_a_publication() -> None:
    cancelled = icalendar.Calendar.from_ical(
        session_ics(_session(cancelled=True, attendees=[ADA], organizer=ADA))
    )
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert str(cancelled.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    unknown = icalendar.Calendar.from_ical(session_ics(_session()))
    assert str(unknown["METHOD"]) == "PUBLISH"
    assert "ORGANIZER" not in unknown.walk("VEVENT")[0]


def test_cancelled_session_says_so_and_bumps_the_sequence() -> None:
    lines = session_ics(_session(cancelled=True, sequence=2)).split("\r\n")
    assert "STATUS:CANCELLED" in lines
    assert "SEQUENCE:2" in lines


def test_text_escaping() -> None:
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"


@given(st.text(min_size=0, max_size=400))
def test_folded_lines_are_at_most_75_octets_and_unfold_to_the_original(value: str) -> None:
    line = "DESCRIPTION:" + escape_text(value.replace("\r", ""))
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line
