"""Matching's subscribers, one per consumed event type, each turning the event into a use case:
the candidate read model from profile events (and the embeddings of their texts), mentors coming and
going, the restricted inclusion attributes, stagnation signals from sessions, erasure, and how pairs
go (sessions' attendance, goals and stagnation) to learn weights from.

Matching's own PairEnded feeds the same outcome records (with the pair's start, which its seat
kept: `outcomes.write_start`), but matching does not consume its own topic for it: its outbox relay
applies it (`PUBLISHED`) once the broker has it, before it leaves the outbox (servicekit.outbox).
Consumed, matching's own events were a third of the records of a flood of registrations, each
fetched, decoded and written to the ledger only to reach this process again."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mentorship_schemas import (
    AgreementSigned,
    CloudEvent,
    Event,
    GoalAchieved,
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    RelationshipRecovered,
    RelationshipStagnant,
    SessionCompleted,
    SessionMissed,
)
from servicekit.consumer import EventConsumer
from servicekit.outbox import OutboxRelay

from matching.domain.candidate import ProfileFacts
from matching.domain.outcome_record import Counted
from matching.domain.seat_parts import Stagnation
from matching.domain.semantic_goals import ProfileTexts
from matching.use_cases import erasure, outcomes, profiles, semantic
from matching.use_cases.context import Matching


async def on_profile_registered(matching: Matching, event: ProfileRegistered, envelope: CloudEvent) -> None:
    await _keep_facts(matching, event, envelope)


async def on_profile_updated(matching: Matching, event: ProfileUpdated, envelope: CloudEvent) -> None:
    await _keep_facts(matching, event, envelope)


async def _keep_facts(
    matching: Matching, event: ProfileRegistered | ProfileUpdated, envelope: CloudEvent
) -> None:
    # Embedded first, so the continuous matching this change causes sees the person's vectors.
    texts = ProfileTexts(
        event.goals, event.challenges, event.title, tuple(event.skills_offered), tuple(event.can_help_with)
    )
    await semantic.embed_profile(matching, event.org_id, event.person_id, event.roles, texts, event.version)
    # What matching scores, rules on and shows a mentee choosing (name and title): no email.
    facts = ProfileFacts.model_validate(event, from_attributes=True)
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
    people = tuple(event.participant_ids)
    await outcomes.counted(
        matching, event.org_id, event.pair_id, people, Counted.STAGNANT_EPISODES, event.episode_id
    )


async def on_relationship_recovered(
    matching: Matching, event: RelationshipRecovered, envelope: CloudEvent
) -> None:
    await profiles.pair_recovered(matching, event.org_id, event.pair_id, event.episode_id)
    people = tuple(event.participant_ids)
    await outcomes.counted(
        matching, event.org_id, event.pair_id, people, Counted.RECOVERED_EPISODES, event.episode_id
    )


async def on_profile_erased(matching: Matching, event: ProfileErased, envelope: CloudEvent) -> None:
    await erasure.forget_person(matching, event.org_id, event.person_id)
    await semantic.forget_embeddings(matching, event.org_id, event.person_id)
    await outcomes.forget_outcomes(matching, event.org_id, event.person_id)


async def on_pair_ended(
    matching: Matching, event: PairEnded, envelope: CloudEvent, local: Mapping[str, Any]
) -> None:
    people = (event.mentee_id, event.mentor_id)
    await outcomes.pair_ended(
        matching, event.org_id, event.pair_id, people, event.reason.value, event.ended_at
    )
    if (started_at := local.get("started_at")) is not None:
        await outcomes.write_start(
            matching, event.org_id, event.pair_id, event.program_id, people, local.get("focus"),
            started_at, local.get("components"),
        )  # fmt: skip


async def on_agreement_signed(matching: Matching, event: AgreementSigned, envelope: CloudEvent) -> None:
    people = tuple(event.participant_ids)
    await outcomes.cadence_agreed(matching, event.org_id, event.pair_id, people, event.cadence)


async def on_session_completed(matching: Matching, event: SessionCompleted, envelope: CloudEvent) -> None:
    people = tuple(event.participant_ids)
    await outcomes.counted(
        matching, event.org_id, event.pair_id, people, Counted.SESSIONS_HELD, event.session_id
    )


async def on_session_missed(matching: Matching, event: SessionMissed, envelope: CloudEvent) -> None:
    people = tuple(event.participant_ids)
    await outcomes.session_missed(
        matching, event.org_id, event.pair_id, people, event.session_id, event.missed_in_a_row
    )


async def on_goal_achieved(matching: Matching, event: GoalAchieved, envelope: CloudEvent) -> None:
    people = tuple(event.participant_ids)
    await outcomes.counted(
        matching, event.org_id, event.pair_id, people, Counted.GOALS_ACHIEVED, event.goal_id
    )


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
    (AgreementSigned, on_agreement_signed),
    (SessionCompleted, on_session_completed),
    (SessionMissed, on_session_missed),
    (GoalAchieved, on_goal_achieved),
)


# Matching's own events, applied by its outbox relay as it publishes them, with what the change
# that wrote each kept for it beside the event (`Emitted.local`).
Applied = Callable[[Matching, Any, CloudEvent, Mapping[str, Any]], Awaitable[None]]

PUBLISHED: tuple[tuple[type[Event], Applied], ...] = ((PairEnded, on_pair_ended),)


def subscribe(consumer: EventConsumer, relay: OutboxRelay, matching: Matching) -> None:
    """Route each consumed event type to its handler, and each of matching's own events that
    changes its data to its handler in the relay, with the use cases' context."""
    for event_type, handler in HANDLERS:
        consumer.add(event_type, functools.partial(handler, matching))
    for event_type, applied in PUBLISHED:
        relay.on_published(event_type, functools.partial(applied, matching))
