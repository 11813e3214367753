"""The iCalendar invite follows RFC 5545: CRLF, escaping, folding at 75 octets (domain)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from notifications.domain.calendar import Attendee, session_invite, unfold
from servicekit.icalendar import escape_text, fold

pytestmark = pytest.mark.fast


def _invite(summary: str = "Mentorship session with Grace") -> str:
    return session_invite(
        uid="session-s1@mentorship",
        sequence=2,
        starts_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
        stamp=datetime(2026, 11, 26, tzinfo=UTC),
        summary=summary,
        description="Bring your agenda; and your action items, please.\nSee you!",
        organizer=Attendee("Mentorship program", "mentorship@example.com"),
        attendees=[
            Attendee("Ada Lovelace", "ada@example.com"),
            Attendee("Grace Hopper", "grace@example.com"),
        ],
    )


def test_invite_is_a_request_with_one_event_in_utc() -> None:
    text = _invite()
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "METHOD:REQUEST" in lines
    assert "DTSTART:20261201T090000Z" in lines
    assert "DTEND:20261201T100000Z" in lines
    assert "UID:session-s1@mentorship" in lines
    assert "SEQUENCE:2" in lines
    ada = 'ATTENDEE;CN="Ada Lovelace";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE'
    assert f"{ada}:mailto:ada@example.com" in lines
    assert "DESCRIPTION:Bring your agenda\\; and your action items\\, please.\\nSee you!" in lines


def test_escaping_protects_separators() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_every_physical_line_is_at_most_75_octets() -> None:
    text = _invite("Mentorship session with " + "Grâce Hoppér " * 20)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


@given(st.text(min_size=0, max_size=400).filter(lambda s: "\r" not in s and "\n" not in s))
def test_folding_round_trips_and_keeps_lines_short(line: str) -> None:
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert unfold(folded + "\r\n") == [line]
