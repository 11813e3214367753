"""Matching's subscribers, one per consumed event type, each turning the event into a use case:
the candidate read model from profile events, mentors coming and going, the restricted inclusion
attributes, stagnation signals from sessions, and erasure."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from mentorship_schemas import (
    CloudEvent,
    Event,
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    RelationshipRecovered,
    RelationshipStagnant,
)
from servicekit.consumer import EventConsumer

from matching.domain.candidate import ProfileFacts
from matching.domain.seat_parts import Stagnation
from matching.use_cases import erasure, profiles
from matching.use_cases.context import Matching


async def on_profile_registered(matching: Matching, event: ProfileRegistered, envelope: CloudEvent) -> None:
    await _keep_facts(matching, event, envelope)


async def on_profile_updated(matching: Matching, event: ProfileUpdated, envelope: CloudEvent) -> None:
    await _keep_facts(matching, event, envelope)


async def _keep_facts(
    matching: Matching, event: ProfileRegistered | ProfileUpdated, envelope: CloudEvent
) -> None:
    # What matching scores, rules on and shows a mentee choosing (name and title): no email.
    facts = ProfileFacts.model_validate(event.model_dump(include=set(ProfileFacts.model_fields)))
    await profiles.keep_facts(
        matching, event.org_id, event.person_id, event.roles, facts, event.version, envelope.time
    )


async def on_mentor_available(matching: Matching, event: MentorAvailable, envelope: CloudEvent) -> None:
    await profiles.mentor_available(
        matching, event.org_id, event.person_id, event.version, event.capacity, event.active_mentees
    )


async def on_mentor_unavailable(matching: Matching, event: MentorUnavailable, envelope: CloudEvent) -> None:
    await profiles.mentor_unavailable(matching, event.org_id, event.person_id, event.version, event.reason)


async def on_inclusion_attributes_changed(
    matching: Matching, event: InclusionAttributesChanged, envelope: CloudEvent
) -> None:
    await profiles.inclusion_changed(
        matching, event.org_id, event.person_id, event.version, event.consented, event.attributes
    )


async def on_relationship_stagnant(
    matching: Matching, event: RelationshipStagnant, envelope: CloudEvent
) -> None:
    stagnation = Stagnation(
        episode_id=event.episode_id,
        severity=event.severity.value,
        reasons=event.reasons,
        suggested_actions=event.suggested_actions,
        since=envelope.time,
    )
    await profiles.pair_stagnant(matching, event.org_id, event.pair_id, stagnation)


async def on_relationship_recovered(
    matching: Matching, event: RelationshipRecovered, envelope: CloudEvent
) -> None:
    await profiles.pair_recovered(matching, event.org_id, event.pair_id, event.episode_id)


async def on_profile_erased(matching: Matching, event: ProfileErased, envelope: CloudEvent) -> None:
    await erasure.forget_person(matching, event.org_id, event.person_id)


# Each handler takes the use cases' context first, bound once by `subscribe`.
Handler = Callable[[Matching, Any, CloudEvent], Awaitable[None]]

HANDLERS: tuple[tuple[type[Event], Handler], ...] = (
    (ProfileRegistered, on_profile_registered),
    (ProfileUpdated, on_profile_updated),
    (MentorAvailable, on_mentor_available),
    (MentorUnavailable, on_mentor_unavailable),
    (InclusionAttributesChanged, on_inclusion_attributes_changed),
    (RelationshipStagnant, on_relationship_stagnant),
    (RelationshipRecovered, on_relationship_recovered),
    (ProfileErased, on_profile_erased),
)


def subscribe(consumer: EventConsumer, matching: Matching) -> None:
    """Route each consumed event type to its handler, with the use cases' context."""
    for event_type, handler in HANDLERS:
        consumer.add(event_type, functools.partial(handler, matching))
