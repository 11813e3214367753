"""Matching's collections and indexes, and how a stored candidate becomes a `MatchProfile`.

- `candidates`: the read model of people, one document per person and role. A mentee document
  also holds where the mentee is (waiting, held by a proposal or request, paired) and carries the
  outbox of the events those changes cause (see `pool`).
- `programs`: what admins configured (see `programs`).
- `match_runs`: audited cohort runs, each with its MatchRunCompleted; `match_run_items`: their pairs
  and unmatched mentees, in chunks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from matching.domain.cohort import MatchProfile

Document = dict[str, Any]


def candidate_key(org_id: str, person_id: str, role: str) -> str:
    return f"{org_id}:{person_id}:{role}"


def seat_key(org_id: str, person_id: str, seat: int) -> str:
    """A mentee's seat: 1 is their own mentee document; 2, 3, ... hold further focus areas."""
    key = candidate_key(org_id, person_id, "mentee")
    return key if seat == 1 else f"{key}:{seat}"


async def create_indexes(
    candidates: AsyncCollection[Document],
    programs: AsyncCollection[Document],
    run_items: AsyncCollection[Document],
) -> None:
    await candidates.create_index(
        [("org_id", ASCENDING), ("role", ASCENDING), ("status", ASCENDING)], name="org_role_status"
    )
    await candidates.create_index([("org_id", ASCENDING), ("pair.pair_id", ASCENDING)], name="org_pair")
    await candidates.create_index([("org_id", ASCENDING), ("hold.id", ASCENDING)], name="org_hold")
    await candidates.create_index(
        [("org_id", ASCENDING), ("hold.mentor_id", ASCENDING)], name="org_hold_mentor"
    )
    # The sweeps: requests past their deadline, pairs past their end date.
    await candidates.create_index([("status", ASCENDING), ("hold.expires_at", ASCENDING)], name="hold_expiry")
    await candidates.create_index([("status", ASCENDING), ("pair.ends_at", ASCENDING)], name="pair_end")
    await programs.create_index([("org_id", ASCENDING)], name="org")
    await run_items.create_index(
        [("run_id", ASCENDING), ("kind", ASCENDING), ("chunk", ASCENDING)], name="run_kind_chunk"
    )


def utc_offset_minutes(timezone: str | None, at: datetime) -> int:
    """The zone's offset at that time (unknown zones count as UTC)."""
    try:
        offset = at.astimezone(ZoneInfo(timezone or "UTC")).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds() // 60) if offset else 0


def match_profile(document: Document, at: datetime) -> MatchProfile:
    return MatchProfile(
        person_id=document["person_id"],
        org_id=document["org_id"],
        department=document.get("department"),
        level=document.get("level"),
        years_experience=document.get("years_experience"),
        manager_id=document.get("manager_id"),
        languages=tuple(document.get("languages") or ()),
        utc_offset_minutes=utc_offset_minutes(document.get("timezone"), at),
        skills_offered=tuple(document.get("skills_offered") or ()),
        # A focus seat (a program with several mentors per mentee) wants just its focus area.
        skills_wanted=(document["focus"],)
        if document.get("focus")
        else tuple(document.get("skills_wanted") or ()),
        skill_levels=dict(document.get("skill_levels") or {}),
        communication_style=document.get("communication_style"),
        modalities=tuple(document.get("modalities") or ()),
        peer_mentoring=bool(document.get("peer_mentoring", False)),
        reverse_mentoring=bool(document.get("reverse_mentoring", False)),
        accepting_mentees=document.get("status") == "available",
        free_capacity=int(document.get("free_slots", 0)),
    )
