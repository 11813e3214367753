"""Which events tell people something, whom a message about each may name (so their names and
timezones are looked up first), and the messages themselves (domain/messages.py). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from mentorship_schemas import (
    ActionItemOverdue,
    CircleFormed,
    GoalAchieved,
    MatchProposed,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
    RelationshipStagnant,
    SessionMissed,
)

from notifications.domain import messages
from notifications.domain.messages import Directory, Message

Announced = (
    PairCreated
    | MentorshipRequested
    | PairDeclined
    | MatchProposed
    | CircleFormed
    | SessionMissed
    | RelationshipStagnant
    | ActionItemOverdue
    | GoalAchieved
    | PairEnded
)


@dataclass(frozen=True)
class Audience:
    """The people a message about an event may name and, for escalations, the org's contacts."""

    person_ids: tuple[str, ...]
    with_admins: bool = False


def audience(event: Announced) -> Audience:
    match event:
        case MatchProposed():
            return Audience((event.mentor_id, event.mentee_id), with_admins=True)
        case PairCreated() | MentorshipRequested() | PairDeclined() | PairEnded():
            return Audience((event.mentor_id, event.mentee_id))
        case CircleFormed():
            return Audience((*event.member_ids, *event.facilitator_rota[:1]))
        case SessionMissed():
            escalate = event.missed_in_a_row >= messages.ESCALATE_AFTER_MISSED_IN_A_ROW
            return Audience(tuple(event.participant_ids), with_admins=escalate)
        case RelationshipStagnant():
            return Audience(tuple(event.participant_ids), with_admins=True)
        case ActionItemOverdue():
            return Audience((event.owner_id,))
        case GoalAchieved():
            return Audience(tuple(event.participant_ids))


def messages_for(event: Announced, directory: Directory) -> list[Message]:
    match event:
        case PairCreated():
            return messages.for_pair_created(event, directory)
        case MentorshipRequested():
            return messages.for_mentorship_requested(event, directory)
        case PairDeclined():
            return messages.for_pair_declined(event, directory)
        case MatchProposed():
            return messages.for_match_proposed(event, directory)
        case CircleFormed():
            return messages.for_circle_formed(event, directory)
        case SessionMissed():
            return messages.for_session_missed(event, directory)
        case RelationshipStagnant():
            return messages.for_relationship_stagnant(event, directory)
        case ActionItemOverdue():
            return messages.for_action_item_overdue(event, directory)
        case GoalAchieved():
            return messages.for_goal_achieved(event, directory)
        case PairEnded():
            return messages.for_pair_ended(event, directory)
