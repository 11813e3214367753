"""Which events tell people something, whom a message about each may name (so their names,
timezones and languages are looked up first), what one of them is about when that is not the event
itself, and the messages themselves (domain/messages/). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from mentorship_schemas import (
    ActionItemOverdue,
    AgreementDrafted,
    AgreementSignatureAdded,
    AgreementSigned,
    CircleFormed,
    GoalAchieved,
    MatchProposed,
    MenteeUnmatched,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
    RelationshipStagnant,
    SessionMissed,
)

from notifications.domain import messages
from notifications.domain.messages import Directory, Message
from notifications.domain.messages.unmatched import for_mentee_unmatched

Announced = (
    PairCreated
    | MentorshipRequested
    | PairDeclined
    | MenteeUnmatched
    | MatchProposed
    | CircleFormed
    | SessionMissed
    | RelationshipStagnant
    | ActionItemOverdue
    | GoalAchieved
    | PairEnded
    | AgreementDrafted
    | AgreementSignatureAdded
    | AgreementSigned
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
        case MenteeUnmatched():
            return Audience((event.mentee_id,), with_admins=True)
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
        case GoalAchieved() | AgreementSigned():
            return Audience(tuple(event.participant_ids))
        case AgreementDrafted():
            return Audience((*event.participant_ids, *event.awaiting_ids))
        case AgreementSignatureAdded():
            return Audience((*event.participant_ids, *event.awaiting_ids, event.signer_id))


def occasion(event: Announced) -> str | None:
    """What the messages about `event` answer when that is a state rather than the event: a
    signature awaited on one revision of an agreement is asked for once, even should the same
    revision be announced again under another event id. None: the event itself."""
    match event:
        case AgreementDrafted():
            return f"agreement:{event.pair_id}:revision:{event.revision}"
        case AgreementSignatureAdded():
            return f"agreement:{event.pair_id}:revision:{event.revision}:signed-by:{event.signer_id}"
        case _:
            return None


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
        case MenteeUnmatched():
            return for_mentee_unmatched(event, directory)
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
        case AgreementDrafted():
            return messages.for_agreement_drafted(event, directory)
        case AgreementSignatureAdded():
            return messages.for_agreement_signature_added(event, directory)
        case AgreementSigned():
            return messages.for_agreement_signed(event, directory)
