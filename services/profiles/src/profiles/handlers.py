"""Profiles' subscribers: a mentor's load follows PairCreated and PairEnded (idempotently, in any
order), announcing availability only when it changes."""

from __future__ import annotations

from typing import Any

from mentorship_schemas import CloudEvent, MentorAvailable, MentorUnavailable, PairCreated, PairEnded
from servicekit.ids import derived_id
from servicekit.outbox import with_outbox
from servicekit.repository import update_with_retry
from servicekit.runtime import ServiceRuntime

from profiles.domain.availability import Availability, transition
from profiles.store import mentor_load, person_key


def register(runtime: ServiceRuntime) -> None:
    people = runtime.db["people"]

    async def change_load(
        org_id: str, mentor_id: str, envelope: CloudEvent, pair_id: str, ended: bool
    ) -> None:
        async def decide(mentor: dict[str, Any]) -> dict[str, Any] | None:
            if mentor.get("erased"):
                return None
            active = list(mentor.get("active_pair_ids", []))
            finished = list(mentor.get("ended_pair_ids", []))
            if ended:
                if pair_id in finished:
                    return None  # already counted: a redelivery changes nothing
                finished.append(pair_id)  # remembered even before its PairCreated arrives
                active = [p for p in active if p != pair_id]
            else:
                if pair_id in active or pair_id in finished:
                    return None  # a repeat, or a PairCreated arriving after its PairEnded
                active.append(pair_id)
            after = {**mentor, "active_pair_ids": active}
            version = mentor["version"] + 1
            update = {
                "$set": {
                    "active_pair_ids": active,
                    "ended_pair_ids": finished,
                    "version": version,
                    "availability": mentor_load(after).availability.value,
                }
            }
            announced = transition(mentor_load(mentor), mentor_load(after))
            if announced is None:
                return update
            load = mentor_load(after)
            event: Any = (
                MentorAvailable(
                    org_id=org_id,
                    version=version,
                    person_id=mentor_id,
                    capacity=load.capacity,
                    active_mentees=load.active_mentees,
                )
                if announced is Availability.AVAILABLE
                else MentorUnavailable(
                    org_id=org_id, version=version, person_id=mentor_id, reason=announced.value
                )
            )
            return with_outbox(
                update, [runtime.entry(event, event_id=derived_id(envelope.id, "availability"))]
            )

        await update_with_retry(people, {"_id": person_key(org_id, mentor_id), "org_id": org_id}, decide)
        runtime.events_written()

    @runtime.consumer.on(PairCreated)
    async def on_pair_created(event: PairCreated, envelope: CloudEvent) -> None:
        await change_load(event.org_id, event.mentor_id, envelope, event.pair_id, ended=False)

    @runtime.consumer.on(PairEnded)
    async def on_pair_ended(event: PairEnded, envelope: CloudEvent) -> None:
        await change_load(event.org_id, event.mentor_id, envelope, event.pair_id, ended=True)
