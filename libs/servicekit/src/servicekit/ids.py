"""Identifiers. Ids of effects are derived from their cause, so repeating the cause (a redelivered
event, two replicas sweeping at once) yields the same id and therefore one effect."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f1c3a52-4b8e-4d57-9a41-1d5b7f0c2e90")


def derived_id(*parts: str) -> str:
    """A stable id for an effect of the given cause parts."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def new_id() -> str:
    return str(uuid.uuid4())
