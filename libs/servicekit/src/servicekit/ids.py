"""Identifiers. Ids of effects are derived from their cause, so repeating the cause (a redelivered
event, two replicas sweeping at once) yields the same id and therefore one effect."""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.UUID("6f1c3a52-4b8e-4d57-9a41-1d5b7f0c2e90")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def derived_id(*parts: str) -> str:
    """A stable id for an effect of the given cause parts: `uuid.uuid5` of our namespace and the
    parts joined by a unit separator, spelled out (a third of its cost; consumers derive a few per
    record). Ids already stored depend on it: it must never change."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_id() -> str:
    return str(uuid.uuid4())
