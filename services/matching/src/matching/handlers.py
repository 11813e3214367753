"""Matching's subscribers: keep the candidate read model from profile events, react to mentors
coming and going and to stagnation signals, then match continuously."""

from __future__ import annotations

import contextlib
from typing import Any

from mentorship_schemas import (
    CloudEvent,
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    RelationshipRecovered,
    RelationshipStagnant,
)
from mentorship_schemas.events import PersonRole
from pymongo.errors import DuplicateKeyError
from servicekit.runtime import ServiceRuntime

from matching.circle_runs import CIRCLES
from matching.cohort_runs import INCLUSION
from matching.flows import decline_open_holds_of, end_pairs_of_mentor, match_continuously
from matching.pool import HELD, PAIRED, drop_hold
from matching.programs import DEFAULT_PROGRAM
from matching.store import candidate_key


def profile_facts(event: ProfileRegistered | ProfileUpdated) -> dict[str, Any]:
    """What matching scores and rules on (no names, no email: those stay with profiles)."""
    return {
        "department": event.department,
        "skills_offered": event.skills_offered,
        "skills_wanted": event.skills_wanted,
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


def register(runtime: ServiceRuntime) -> None:
    candidates = runtime.db["candidates"]

    async def apply_if_newer(org_id: str, person_id: str, version: int, fields: dict[str, Any]) -> None:
        """Set availability unless a newer one was already applied (stale or repeat). Availability and
        facts are versioned apart: profiles may announce both at the same profile version."""
        # A DuplicateKeyError means the document exists with a newer version: this event is stale.
        with contextlib.suppress(DuplicateKeyError):
            await candidates.update_one(
                {
                    "_id": candidate_key(org_id, person_id, "mentor"),
                    "availability_version": {"$lt": version},
                },
                {
                    "$set": {**fields, "availability_version": version},
                    "$setOnInsert": {
                        "org_id": org_id,
                        "person_id": person_id,
                        "role": "mentor",
                        "profile_version": 0,  # the facts arrive with ProfileRegistered
                    },
                },
                upsert=True,
            )

    async def keep_facts(event: ProfileRegistered | ProfileUpdated, envelope: CloudEvent) -> None:
        """Newer facts replace older ones on each role's document; a new role gets its document."""
        facts = profile_facts(event)
        for role, new_fields in (
            (PersonRole.MENTEE, {"status": "waiting", "program_id": DEFAULT_PROGRAM, "version": 1}),
            (PersonRole.MENTOR, {"status": "unavailable", "free_slots": 0, "availability_version": 0}),
        ):
            if role not in event.roles:
                continue
            key = candidate_key(event.org_id, event.person_id, role.value)
            # update_many: a mentee with several focus seats has one document per seat.
            updated = await candidates.update_many(
                {
                    "org_id": event.org_id,
                    "person_id": event.person_id,
                    "role": role.value,
                    "profile_version": {"$lt": event.version},
                },
                {"$set": {**facts, "profile_version": event.version}},
            )
            if updated.matched_count:
                continue
            with contextlib.suppress(DuplicateKeyError):  # exists already: this event is stale
                await candidates.insert_one(
                    {
                        "_id": key,
                        "org_id": event.org_id,
                        "person_id": event.person_id,
                        "role": role.value,
                        "waiting_since": envelope.time,
                        "profile_version": event.version,
                        **new_fields,
                        **facts,
                    }
                )
        await match_continuously(runtime, event.org_id)

    @runtime.consumer.on(ProfileRegistered)
    async def on_profile_registered(event: ProfileRegistered, envelope: CloudEvent) -> None:
        await keep_facts(event, envelope)

    @runtime.consumer.on(ProfileUpdated)
    async def on_profile_updated(event: ProfileUpdated, envelope: CloudEvent) -> None:
        await keep_facts(event, envelope)

    @runtime.consumer.on(MentorAvailable)
    async def on_mentor_available(event: MentorAvailable, envelope: CloudEvent) -> None:
        # Places held here for open proposals and requests are not in profiles' count yet.
        held = await candidates.count_documents(
            {"org_id": event.org_id, "role": "mentee", "status": HELD, "hold.mentor_id": event.person_id}
        )
        free = max(0, event.capacity - event.active_mentees - held)
        await apply_if_newer(
            event.org_id,
            event.person_id,
            event.version,
            {"status": "available", "free_slots": free, "capacity": event.capacity},
        )
        await match_continuously(runtime, event.org_id)

    @runtime.consumer.on(MentorUnavailable)
    async def on_mentor_unavailable(event: MentorUnavailable, envelope: CloudEvent) -> None:
        await apply_if_newer(
            event.org_id,
            event.person_id,
            event.version,
            {"status": "unavailable", "free_slots": 0, "unavailable_reason": event.reason},
        )
        # Act only while this event is the mentor's current availability: a stale one (an older
        # version arriving late) changes nothing, and a redelivery after a crash finishes the job.
        mentor = await candidates.find_one({"_id": candidate_key(event.org_id, event.person_id, "mentor")})
        if mentor is None or mentor.get("availability_version") != event.version:
            return
        await decline_open_holds_of(runtime, event.org_id, event.person_id)
        if event.reason == "left":
            await end_pairs_of_mentor(runtime, event.org_id, event.person_id)

    @runtime.consumer.on(InclusionAttributesChanged)
    async def on_inclusion_attributes_changed(
        event: InclusionAttributesChanged, envelope: CloudEvent
    ) -> None:
        """Consented attributes from the restricted topic, kept apart from the candidates and used
        only for a program's fairness floor. Withdrawn consent forgets them (the document keeps
        only the version, so a replayed older event cannot bring them back)."""
        attributes = event.attributes if event.consented else {}
        with contextlib.suppress(DuplicateKeyError):  # a newer version is stored: this one is stale
            await runtime.db[INCLUSION].update_one(
                {"_id": f"{event.org_id}:{event.person_id}", "version": {"$lt": event.version}},
                {
                    "$set": {"attributes": attributes, "version": event.version},
                    "$setOnInsert": {"org_id": event.org_id, "person_id": event.person_id},
                },
                upsert=True,
            )

    @runtime.consumer.on(RelationshipStagnant)
    async def on_relationship_stagnant(event: RelationshipStagnant, envelope: CloudEvent) -> None:
        """Remember the signal on the pair, so the pair or an admin can escalate it to a rematch."""
        await candidates.update_one(
            {"org_id": event.org_id, "role": "mentee", "status": PAIRED, "pair.pair_id": event.pair_id},
            {
                "$set": {
                    "pair.stagnation": {
                        "episode_id": event.episode_id,
                        "severity": event.severity.value,
                        "reasons": event.reasons,
                        "suggested_actions": event.suggested_actions,
                        "since": envelope.time,
                    }
                }
            },
        )

    @runtime.consumer.on(RelationshipRecovered)
    async def on_relationship_recovered(event: RelationshipRecovered, envelope: CloudEvent) -> None:
        await candidates.update_one(
            {
                "org_id": event.org_id,
                "role": "mentee",
                "pair.pair_id": event.pair_id,
                "pair.stagnation.episode_id": event.episode_id,
            },
            {"$unset": {"pair.stagnation": ""}},
        )

    @runtime.consumer.on(ProfileErased)
    async def on_profile_erased(event: ProfileErased, envelope: CloudEvent) -> None:
        """Forget the person; keep only that their pairs existed, without who or why."""
        org = event.org_id
        await decline_open_holds_of(runtime, org, event.person_id)
        await runtime.db[INCLUSION].delete_one({"_id": f"{org}:{event.person_id}"})
        await candidates.delete_one({"_id": candidate_key(org, event.person_id, "mentor")})
        seats = {"org_id": org, "role": "mentee", "person_id": event.person_id}
        async for seat in candidates.find({**seats, "status": HELD}):
            await drop_hold(runtime, seat, "withdrawn")
        await candidates.delete_many({**seats, "status": {"$in": ["waiting", "ended"]}})
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
            "focus": None,
        }
        await candidates.update_many(
            {**seats, "status": PAIRED},
            {"$set": {"pair.reasons": [], "pair.breakdown": {}, "pair.focus": None}},
        )
        await candidates.update_many(
            {**seats, "last_pair": {"$exists": True}},
            {"$set": {"last_pair.reasons": [], "last_pair.breakdown": {}, "last_pair.focus": None}},
        )
        await candidates.update_many(
            seats, {"$set": {**anonymous, "status": "erased", "person_id": "erased"}}
        )
        for pair in ("pair", "last_pair"):
            await candidates.update_many(
                {"org_id": org, "role": "mentee", f"{pair}.mentor_id": event.person_id},
                {"$set": {f"{pair}.mentor_id": "erased", f"{pair}.reasons": [], f"{pair}.breakdown": {}}},
            )

        def without_person(circle: dict[str, Any]) -> dict[str, list[str]]:
            return {
                name: ["erased" if member == event.person_id else member for member in circle[name]]
                for name in ("member_ids", "facilitator_rota")
            }

        async for circle in runtime.db[CIRCLES].find({"org_id": org, "member_ids": event.person_id}):
            await runtime.db[CIRCLES].update_one({"_id": circle["_id"]}, {"$set": without_person(circle)})
        async for member in candidates.find({"org_id": org, "circle.member_ids": event.person_id}):
            circle_fields = {f"circle.{name}": ids for name, ids in without_person(member["circle"]).items()}
            await candidates.update_one({"_id": member["_id"]}, {"$set": circle_fields})
        await candidates.update_many(
            {"org_id": org, "role": "mentee", "previous_mentors": event.person_id},
            {"$pull": {"previous_mentors": event.person_id}},
        )
        await candidates.update_many(
            {"org_id": org, "role": "mentee", "declined_mentors": event.person_id},
            {"$pull": {"declined_mentors": event.person_id}},
        )
