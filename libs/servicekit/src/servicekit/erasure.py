"""The right to be forgotten, the part every service shares: once a person is erased, no store keeps
their employee id. What must stay (that a pair or a circle existed, a tombstone that refuses a late
event) stays under a pseudonym or a keyed mark, derived from the id so every service and every
replica derives the same one, and never reversible from what is stored.
"""

from __future__ import annotations

import hashlib
from typing import Any


def person_mark(org_id: str, person_id: str) -> str:
    """A stable key for "this person" that does not contain their id (a tombstone's `_id`)."""
    return hashlib.sha256(f"{org_id}\x1f{person_id}".encode()).hexdigest()


def pseudonym(org_id: str, person_id: str) -> str:
    """What an erased person's id becomes where a record must still tell people apart."""
    return f"erased-{person_mark(org_id, person_id)[:16]}"


def is_pseudonym(person_id: str) -> bool:
    """Whether an id in a stored record stands for someone erased."""
    return person_id.startswith("erased-")


def without_person(value: Any, person_id: str, replacement: str) -> Any:
    """`value` (a stored document, or any part of one) with every string equal to `person_id`, as a
    value or as a key, replaced by `replacement`; the pending outbox is left as it is (its events
    are on their way and name people as they were)."""
    if isinstance(value, str):
        return replacement if value == person_id else value
    if isinstance(value, dict):
        return {
            (replacement if key == person_id else key): (
                item if key in ("outbox", "outbox_pending") else without_person(item, person_id, replacement)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [without_person(item, person_id, replacement) for item in value]
    return value
