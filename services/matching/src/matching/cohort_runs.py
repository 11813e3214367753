"""The admin cohort-run use case: read the org's waiting mentees and available mentors from the
candidate read model, run the matching engine (off the event loop), store the audited run.

A run proposes; it does not pair anyone yet (approval and MatchProposed come next). The run id is
derived from the program and the input digest, so running again on unchanged inputs returns the
same stored run instead of a duplicate."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentorship_schemas import MatchRunCompleted
from pymongo.errors import DuplicateKeyError
from servicekit.ids import derived_id
from servicekit.outbox import new_document
from servicekit.runtime import ServiceRuntime

from matching.domain.cohort import MatchProfile
from matching.domain.cohort_run import run_cohort
from matching.domain.programs import MatchingPolicy

MATCH_RUNS = "match_runs"


def utc_offset_minutes(timezone: str | None, at: datetime) -> int:
    """The zone's offset at the run's time (unknown zones count as UTC)."""
    try:
        offset = at.astimezone(ZoneInfo(timezone or "UTC")).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds() // 60) if offset else 0


def match_profile(document: dict[str, Any], at: datetime) -> MatchProfile:
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
        skills_wanted=tuple(document.get("skills_wanted") or ()),
        skill_levels=dict(document.get("skill_levels") or {}),
        communication_style=document.get("communication_style"),
        modalities=tuple(document.get("modalities") or ()),
        peer_mentoring=bool(document.get("peer_mentoring", False)),
        reverse_mentoring=bool(document.get("reverse_mentoring", False)),
        accepting_mentees=document.get("status") == "available",
        free_capacity=int(document.get("free_slots", 0)),
    )


async def run_cohort_for_org(
    runtime: ServiceRuntime, program_id: str, policy: MatchingPolicy
) -> dict[str, Any]:
    candidates = runtime.db["candidates"]
    now = runtime.clock.now()
    mentees: list[MatchProfile] = []
    mentors: list[MatchProfile] = []
    async for document in candidates.find(
        {"org_id": policy.org_id, "status": {"$in": ["waiting", "available"]}}
    ):
        if document.get("role") == "mentee" and document.get("status") == "waiting":
            mentees.append(match_profile(document, now))
        elif document.get("role") == "mentor":
            mentors.append(match_profile(document, now))
    started = asyncio.get_running_loop().time()
    result = await asyncio.to_thread(run_cohort, policy, mentees, mentors)
    seconds = asyncio.get_running_loop().time() - started
    run_id = derived_id(policy.org_id, program_id, result.input_digest)
    run = {
        "_id": run_id,
        "run_id": run_id,
        "org_id": policy.org_id,
        "program_id": program_id,
        "created_at": now,
        "mentees": len(mentees),
        "mentors": len(mentors),
        "seconds": round(seconds, 3),
        **result.summary(),
        "pairs": [asdict(pair) for pair in result.pairs],
        "unmatched": [asdict(entry) for entry in result.unmatched],
    }
    existing = await runtime.db[MATCH_RUNS].find_one({"_id": run_id})
    if existing is not None:
        return existing
    completed = MatchRunCompleted(
        org_id=policy.org_id, version=1, run_id=run_id, program_id=program_id, mentees=len(mentees),
        mentors=len(mentors), matched=result.matched, objective=result.objective, optimal=result.optimal,
        seconds=round(seconds, 3),
    )  # fmt: skip
    # The audited run and its summary event are one write; the same inputs give the same run id.
    try:
        await runtime.db[MATCH_RUNS].insert_one(
            new_document(run, [runtime.entry(completed, event_id=derived_id(run_id, "completed"))])
        )
    except DuplicateKeyError:
        stored = await runtime.db[MATCH_RUNS].find_one({"_id": run_id})
        return stored or run
    runtime.events_written()
    return run
