"""Profiles' subscribers: a mentor's load follows PairCreated, announcing availability changes."""

from __future__ import annotations

from typing import Any

from mentorship_schemas import CloudEvent, MentorAvailable, MentorUnavailable, PairCreated
from servicekit.ids import derived_id
from servicekit.outbox import with_outbox
from servicekit.repository import update_with_retry
from servicekit.runtime import ServiceRuntime

from profiles.domain.availability import Availability
from profiles.store import mentor_load, person_key


def register(runtime: ServiceRuntime) -> None:
    people = runtime.db["people"]

    @runtime.consumer.on(PairCreated)
    async def on_pair_created(event: PairCreated, envelope: CloudEvent) -> None:
        async def decide(mentor: dict[str, Any]) -> dict[str, Any] | None:
            if event.pair_id in mentor.get("active_pair_ids", []):
                return None  # already counted: a redelivery changes nothing
            before = mentor_load(mentor)
            after = mentor_load({**mentor, "active_pair_ids": [*mentor["active_pair_ids"], event.pair_id]})
            version = mentor["version"] + 1
            update: dict[str, Any] = {
                "$push": {"active_pair_ids": event.pair_id},
                "$set": {"version": version},
            }
            entries = []
            if (
                before.availability is Availability.AVAILABLE
                and after.availability is not Availability.AVAILABLE
            ):
                entries.append(
                    runtime.entry(
                        MentorUnavailable(
                            org_id=event.org_id,
                            version=version,
                            person_id=event.mentor_id,
                            reason=after.availability.value,
                        ),
                        event_id=derived_id(envelope.id, "mentor-unavailable"),
                    )
                )
            elif (
                before.availability is not Availability.AVAILABLE
                and after.availability is Availability.AVAILABLE
            ):
                entries.append(
                    runtime.entry(
                        MentorAvailable(
                            org_id=event.org_id,
                            version=version,
                            person_id=event.mentor_id,
                            capacity=after.capacity,
                            active_mentees=after.active_mentees,
                        ),
                        event_id=derived_id(envelope.id, "mentor-available"),
                    )
                )
            return with_outbox(update, entries) if entries else update

        await update_with_retry(
            people,
            {"_id": person_key(event.org_id, event.mentor_id), "org_id": event.org_id},
            decide,
        )
        runtime.events_written()
