"""Notifications' Kafka handlers: one per consumed event type, each turning the event into one use
case. Profile events keep our copy of each recipient; the others tell people something."""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from typing import Any, Protocol

from mentorship_schemas import (
    ActionItemOverdue,
    AgreementDrafted,
    AgreementSignatureAdded,
    AgreementSigned,
    CircleFormed,
    CloudEvent,
    Event,
    GoalAchieved,
    MatchProposed,
    MenteeUnmatched,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    RelationshipStagnant,
    SessionCancelled,
    SessionMissed,
    SessionScheduled,
)
from servicekit.consumer import EventConsumer

from notifications.domain.notification import Cause
from notifications.use_cases import NotificationsUseCases


class ServiceHandler(Protocol):
    """A handler with the use cases it calls (bound once, at registration)."""

    def __call__(
        self, event: Any, envelope: CloudEvent, use_cases: NotificationsUseCases
    ) -> Awaitable[None]: ...


def cause_of(envelope: CloudEvent) -> Cause:
    return Cause(event_id=envelope.id, event_type=envelope.type)


async def on_profile_registered(
    event: ProfileRegistered, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.people.keep_profile(event)


async def on_profile_updated(
    event: ProfileUpdated, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.people.keep_profile(event)


async def on_profile_erased(
    event: ProfileErased, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.people.erase(event)


async def on_pair_created(event: PairCreated, envelope: CloudEvent, use_cases: NotificationsUseCases) -> None:
    await use_cases.notify.pair_created(event, cause_of(envelope))


async def on_session_scheduled(
    event: SessionScheduled, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.session_scheduled(event, cause_of(envelope))


async def on_session_cancelled(
    event: SessionCancelled, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.session_cancelled(event)


# The events below only tell people something: domain/announcements.py says whom and what.


async def on_mentorship_requested(
    event: MentorshipRequested, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_pair_declined(
    event: PairDeclined, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_mentee_unmatched(
    event: MenteeUnmatched, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_match_proposed(
    event: MatchProposed, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_circle_formed(
    event: CircleFormed, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_session_missed(
    event: SessionMissed, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_relationship_stagnant(
    event: RelationshipStagnant, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_action_item_overdue(
    event: ActionItemOverdue, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_goal_achieved(
    event: GoalAchieved, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_pair_ended(event: PairEnded, envelope: CloudEvent, use_cases: NotificationsUseCases) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_agreement_drafted(
    event: AgreementDrafted, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_agreement_signature_added(
    event: AgreementSignatureAdded, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


async def on_agreement_signed(
    event: AgreementSigned, envelope: CloudEvent, use_cases: NotificationsUseCases
) -> None:
    await use_cases.notify.announce(event, cause_of(envelope))


HANDLERS: tuple[tuple[type[Event], ServiceHandler], ...] = (
    (ProfileRegistered, on_profile_registered),
    (ProfileUpdated, on_profile_updated),
    (ProfileErased, on_profile_erased),
    (PairCreated, on_pair_created),
    (SessionScheduled, on_session_scheduled),
    (SessionCancelled, on_session_cancelled),
    (MentorshipRequested, on_mentorship_requested),
    (PairDeclined, on_pair_declined),
    (MenteeUnmatched, on_mentee_unmatched),
    (MatchProposed, on_match_proposed),
    (CircleFormed, on_circle_formed),
    (SessionMissed, on_session_missed),
    (RelationshipStagnant, on_relationship_stagnant),
    (ActionItemOverdue, on_action_item_overdue),
    (GoalAchieved, on_goal_achieved),
    (PairEnded, on_pair_ended),
    (AgreementDrafted, on_agreement_drafted),
    (AgreementSignatureAdded, on_agreement_signature_added),
    (AgreementSigned, on_agreement_signed),
)


def register(consumer: EventConsumer, use_cases: NotificationsUseCases) -> None:
    for event_type, handler in HANDLERS:
        consumer.add(event_type, functools.partial(handler, use_cases=use_cases))
