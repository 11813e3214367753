"""One builder per event this service publishes, each with its id derived from the cause (so a
replay, a redelivery or two replicas sweeping at once yield the same id, hence one effect).

A session's, action item's or goal's event carries that part's own version; the relationship's
events carry the relationship's next version. The strings in the derived ids ("scheduled", "held",
...) name the cause, not a status: they are fixed, since changing one would change every id.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from mentorship_schemas import (
    ActionItemOverdue,
    AgreementDrafted,
    AgreementSignatureAdded,
    AgreementSigned,
    GoalAchieved,
    RelationshipRecovered,
    RelationshipStagnant,
    SessionCancelled,
    SessionCompleted,
    SessionMissed,
    SessionScheduled,
)
from servicekit.aggregates import Emitted
from servicekit.ids import derived_id

from sessions.domain.health import HealthAssessment
from sessions.domain.parts import ActionItem, Goal, Session

if TYPE_CHECKING:
    from sessions.domain.relationship import Relationship


def agreement_drafted(relationship: Relationship, version: int) -> Emitted:
    """The agreement's current revision awaits everyone's signature. `version`: the relationship's
    version once saved (its first on creation, the next one on a change)."""
    agreement = relationship.agreement
    event = AgreementDrafted(
        org_id=relationship.org_id,
        version=version,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        awaiting_ids=agreement.awaiting(relationship.participant_ids),
        revision=agreement.revision,
    )
    return Emitted(event, derived_id(relationship.id, "agreement-drafted", str(agreement.revision)))


def agreement_signature_added(relationship: Relationship, signer_id: str, awaiting_ids: list[str]) -> Emitted:
    agreement = relationship.agreement
    event = AgreementSignatureAdded(
        org_id=relationship.org_id,
        version=relationship.version + 1,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        signer_id=signer_id,
        awaiting_ids=awaiting_ids,
        revision=agreement.revision,
    )
    # One per signer and revision: a redraft asks again, and a new signature is news again.
    return Emitted(event, derived_id(relationship.id, "signature", str(agreement.revision), signer_id))


def agreement_signed(relationship: Relationship) -> Emitted:
    agreement = relationship.agreement
    event = AgreementSigned(
        org_id=relationship.org_id,
        version=relationship.version + 1,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        cadence=agreement.cadence,
        ends_on=agreement.ends_on,
    )
    return Emitted(event, derived_id(relationship.id, "agreement-signed", str(agreement.revision)))


def session_scheduled(relationship: Relationship, session: Session) -> Emitted:
    """A new session (sequence 0) or a moved one (each move bumps the sequence)."""
    event = SessionScheduled(
        org_id=relationship.org_id,
        version=session.version,
        session_id=session.session_id,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
    )
    return Emitted(event, derived_id(session.session_id, "scheduled", str(session.sequence)))


def session_cancelled(relationship: Relationship, session: Session) -> Emitted:
    assert session.cancelled_by is not None
    event = SessionCancelled(
        org_id=relationship.org_id,
        version=session.version,
        session_id=session.session_id,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        starts_at=session.starts_at,
        cancelled_by=session.cancelled_by,
    )
    return Emitted(event, derived_id(session.session_id, "cancelled"))


def session_completed(relationship: Relationship, session: Session) -> Emitted:
    assert session.held_at is not None
    event = SessionCompleted(
        org_id=relationship.org_id,
        version=session.version,
        session_id=session.session_id,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        starts_at=session.starts_at,
        held_at=session.held_at,
    )
    return Emitted(event, derived_id(session.session_id, "held"))


def session_missed(relationship: Relationship, session: Session) -> Emitted:
    assert session.missed_in_a_row is not None
    event = SessionMissed(
        org_id=relationship.org_id,
        version=session.version,
        session_id=session.session_id,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        starts_at=session.starts_at,
        missed_in_a_row=session.missed_in_a_row,
    )
    return Emitted(event, derived_id(session.session_id, "missed"))


def action_item_overdue(relationship: Relationship, item: ActionItem) -> Emitted:
    event = ActionItemOverdue(
        org_id=relationship.org_id,
        version=item.version,
        action_item_id=item.item_id,
        pair_id=relationship.id,
        owner_id=item.owner_id,
        title=item.title,
        due_at=item.due_at,
    )
    # Once per due date: an item moved to a new date may be overdue again.
    due = item.due_at.astimezone(UTC).isoformat()
    return Emitted(event, derived_id(item.item_id, "overdue", due))


def goal_achieved(relationship: Relationship, goal: Goal) -> Emitted:
    event = GoalAchieved(
        org_id=relationship.org_id,
        version=goal.version,
        goal_id=goal.goal_id,
        pair_id=relationship.id,
        participant_ids=list(relationship.participant_ids),
        title=goal.title,
    )
    return Emitted(event, derived_id(goal.goal_id, "achieved"))


def episode_id(relationship: Relationship, episode_number: int) -> str:
    return derived_id(relationship.id, "episode", str(episode_number))


def relationship_stagnant(
    relationship: Relationship, episode_number: int, assessment: HealthAssessment
) -> Emitted:
    assert assessment.severity is not None
    event = RelationshipStagnant(
        org_id=relationship.org_id,
        version=relationship.version + 1,
        pair_id=relationship.id,
        episode_id=episode_id(relationship, episode_number),
        participant_ids=list(relationship.participant_ids),
        reasons=list(assessment.reasons),
        severity=assessment.severity,
        suggested_actions=list(assessment.suggested_actions),
    )
    return Emitted(event, derived_id(relationship.id, "stagnant", str(episode_number)))


def relationship_recovered(relationship: Relationship, episode_number: int) -> Emitted:
    event = RelationshipRecovered(
        org_id=relationship.org_id,
        version=relationship.version + 1,
        pair_id=relationship.id,
        episode_id=episode_id(relationship, episode_number),
        participant_ids=list(relationship.participant_ids),
    )
    return Emitted(event, derived_id(relationship.id, "recovered", str(episode_number)))
