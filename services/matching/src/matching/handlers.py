"""Matching's subscribers: keep the candidate read model from profile events, then match."""

from __future__ import annotations

import contextlib
from typing import Any

from mentorship_schemas import (
    CloudEvent,
    MentorAvailable,
    MentorUnavailable,
    ProfileErased,
    ProfileRegistered,
)
from mentorship_schemas.events import PersonRole
from pymongo.errors import DuplicateKeyError
from servicekit.runtime import ServiceRuntime

from matching.matcher import match_waiting_mentees
from matching.store import candidate_key


def register(runtime: ServiceRuntime) -> None:
    candidates = runtime.db["candidates"]

    async def apply_if_newer(org_id: str, person_id: str, version: int, fields: dict[str, Any]) -> None:
        """Set mentor fields unless a newer profile version was already applied (stale or repeat)."""
        # A DuplicateKeyError means the document exists with a newer version: this event is stale.
        with contextlib.suppress(DuplicateKeyError):
            await candidates.update_one(
                {
                    "_id": candidate_key(org_id, person_id, "mentor"),
                    "profile_version": {"$lt": version},
                },
                {
                    "$set": {**fields, "profile_version": version},
                    "$setOnInsert": {"org_id": org_id, "person_id": person_id, "role": "mentor"},
                },
                upsert=True,
            )

    @runtime.consumer.on(ProfileRegistered)
    async def on_profile_registered(event: ProfileRegistered, envelope: CloudEvent) -> None:
        profile = {
            "department": event.department,
            "skills_offered": event.skills_offered,
            "skills_wanted": event.skills_wanted,
            # What the cohort-run engine scores and rules on.
            "level": event.level,
            "years_experience": event.years_experience,
            "manager_id": event.manager_id,
            "languages": event.languages,
            "timezone": event.timezone,
            "skill_levels": event.skill_levels,
            "modalities": event.modalities,
            "communication_style": event.communication_style,
            "peer_mentoring": event.peer_mentoring,
            "reverse_mentoring": event.reverse_mentoring,
        }
        if PersonRole.MENTEE in event.roles:
            await candidates.update_one(
                {"_id": candidate_key(event.org_id, event.person_id, "mentee")},
                {
                    "$setOnInsert": {
                        "org_id": event.org_id,
                        "person_id": event.person_id,
                        "role": "mentee",
                        "status": "waiting",
                        "waiting_since": envelope.time,
                        "version": 1,
                        **profile,
                    }
                },
                upsert=True,
            )
        if PersonRole.MENTOR in event.roles:
            await candidates.update_one(
                {"_id": candidate_key(event.org_id, event.person_id, "mentor")},
                {
                    "$set": profile,
                    "$setOnInsert": {
                        "org_id": event.org_id,
                        "person_id": event.person_id,
                        "role": "mentor",
                        "status": "unavailable",
                        "free_slots": 0,
                        "profile_version": 0,
                    },
                },
                upsert=True,
            )
        await match_waiting_mentees(runtime, event.org_id)

    @runtime.consumer.on(MentorAvailable)
    async def on_mentor_available(event: MentorAvailable, envelope: CloudEvent) -> None:
        free = max(0, event.capacity - event.active_mentees)
        await apply_if_newer(
            event.org_id,
            event.person_id,
            event.version,
            {"status": "available", "free_slots": free},
        )
        await match_waiting_mentees(runtime, event.org_id)

    @runtime.consumer.on(MentorUnavailable)
    async def on_mentor_unavailable(event: MentorUnavailable, envelope: CloudEvent) -> None:
        await apply_if_newer(
            event.org_id,
            event.person_id,
            event.version,
            {"status": "unavailable", "free_slots": 0, "unavailable_reason": event.reason},
        )

    @runtime.consumer.on(ProfileErased)
    async def on_profile_erased(event: ProfileErased, envelope: CloudEvent) -> None:
        """Forget the person; keep only that their pairs existed, without who or why."""
        org = event.org_id
        await candidates.delete_one({"_id": candidate_key(org, event.person_id, "mentor")})
        mentee_key = candidate_key(org, event.person_id, "mentee")
        await candidates.delete_one({"_id": mentee_key, "status": "waiting"})
        anonymous: dict[str, Any] = {
            "department": None,
            "skills_offered": [],
            "skills_wanted": [],
            "level": None,
            "years_experience": None,
            "manager_id": None,
            "languages": [],
            "timezone": None,
            "skill_levels": {},
            "modalities": [],
            "communication_style": None,
            "pair.reasons": [],
        }
        await candidates.update_one(
            {"_id": mentee_key}, {"$set": {**anonymous, "status": "erased", "person_id": "erased"}}
        )
        await candidates.update_many(
            {"org_id": org, "role": "mentee", "pair.mentor_id": event.person_id},
            {"$set": {"pair.mentor_id": "erased", "pair.reasons": []}},
        )
