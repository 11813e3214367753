"""What each event tells each person, with the action to take: pure functions from an event (and
what we know of the people in it) to messages, written in each recipient's language (domain/texts)
with times in their own timezone. One module per topic; this one gathers them."""

from notifications.domain.messages.agreements import (
    for_agreement_drafted,
    for_agreement_signature_added,
    for_agreement_signed,
)
from notifications.domain.messages.base import (
    ALL_CHANNELS,
    ESCALATE_AFTER_MISSED_IN_A_ROW,
    SESSION_REMINDER_KINDS,
    Directory,
    Message,
    Person,
    SessionTiming,
)
from notifications.domain.messages.matching import (
    for_circle_formed,
    for_match_proposed,
    for_mentorship_requested,
    for_pair_created,
    for_pair_declined,
    for_pair_ended,
)
from notifications.domain.messages.progress import (
    for_action_item_overdue,
    for_goal_achieved,
    for_relationship_stagnant,
)
from notifications.domain.messages.sessions import for_session_missed, for_session_scheduled

__all__ = [
    "ALL_CHANNELS",
    "ESCALATE_AFTER_MISSED_IN_A_ROW",
    "SESSION_REMINDER_KINDS",
    "Directory",
    "Message",
    "Person",
    "SessionTiming",
    "for_action_item_overdue",
    "for_agreement_drafted",
    "for_agreement_signature_added",
    "for_agreement_signed",
    "for_circle_formed",
    "for_goal_achieved",
    "for_match_proposed",
    "for_mentorship_requested",
    "for_pair_created",
    "for_pair_declined",
    "for_pair_ended",
    "for_relationship_stagnant",
    "for_session_missed",
    "for_session_scheduled",
]
