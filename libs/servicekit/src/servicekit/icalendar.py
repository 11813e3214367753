"""RFC 5545 (iCalendar) content-line primitives shared by every service that renders calendars:
TEXT escaping, line folding at 75 octets, and UTC date-times. Written by hand: no dependency."""

from __future__ import annotations

from datetime import UTC, datetime


def escape_text(value: str) -> str:
    """Section 3.3.11: backslash, semicolon, comma and newlines are escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Section 3.1: lines longer than 75 octets continue on the next line after CRLF and one space,
    never splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75  # the continuation's leading space counts
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def utc_stamp(moment: datetime) -> str:
    """A DATE-TIME in UTC form (`20261125T100000Z`)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
