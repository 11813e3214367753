"""What a pair's progress tells each person: the relationship slowed down (the program admins too
at high severity), an action item is overdue, a goal was achieved."""

from __future__ import annotations

from mentorship_schemas import ActionItemOverdue, GoalAchieved, RelationshipStagnant
from mentorship_schemas.events import Severity

from notifications.domain.messages.base import Directory, Message, said
from notifications.domain.messages.reasons import stagnation_reasons, suggested_actions
from notifications.domain.preferences import Category


def for_relationship_stagnant(event: RelationshipStagnant, directory: Directory) -> list[Message]:
    """The pair, with why and the suggested actions in words; at high severity the program admins
    as well."""
    messages = []
    for person in event.participant_ids:
        texts = directory.texts(person)
        reasons = stagnation_reasons(event.reasons, texts)
        actions = suggested_actions(event.suggested_actions, texts)
        messages.append(
            Message(
                person,
                "relationship_stagnant",
                Category.PROGRESS,
                texts("stagnant.title", others=directory.others(person, event.participant_ids)),
                texts("stagnant.body", reasons=" ".join(reasons), actions=" ".join(actions)),
                actions[0],
                subject_id=event.pair_id,
                language=texts.language,
            )
        )
    if event.severity is Severity.HIGH:
        messages += [
            _stagnation_escalation(event, directory, admin)
            for admin in directory.admins
            if admin not in event.participant_ids
        ]
    return messages


def _stagnation_escalation(event: RelationshipStagnant, directory: Directory, admin: str) -> Message:
    texts = directory.texts(admin)
    pair = texts.listed([directory.name(p, p) for p in event.participant_ids])
    reasons = " ".join(stagnation_reasons(event.reasons, texts))
    actions = " ".join(suggested_actions(event.suggested_actions, texts))
    return Message(
        admin,
        "relationship_stagnant_escalation",
        Category.ESCALATION,
        texts("stagnant.escalation.title", pair=pair),
        texts("stagnant.escalation.body", pair=pair, reasons=reasons, actions=actions),
        texts("stagnant.escalation.action"),
        subject_id=event.pair_id,
        language=texts.language,
    )


def for_action_item_overdue(event: ActionItemOverdue, directory: Directory) -> list[Message]:
    texts = directory.texts(event.owner_id)
    due = directory.local_time(event.due_at, event.owner_id)
    action = texts("action_item_overdue.action")
    return [
        Message(
            event.owner_id,
            "action_item_overdue",
            Category.PROGRESS,
            texts("action_item_overdue.title", title=event.title),
            said(texts("action_item_overdue.body", title=event.title, due=due), action),
            action,
            subject_id=event.action_item_id,
            language=texts.language,
        )
    ]


def for_goal_achieved(event: GoalAchieved, directory: Directory) -> list[Message]:
    messages = []
    for person in event.participant_ids:
        texts = directory.texts(person)
        others = directory.others(person, event.participant_ids, unknown="someone.partner")
        action = texts("goal_achieved.action")
        messages.append(
            Message(
                person,
                "goal_achieved",
                Category.PROGRESS,
                texts("goal_achieved.title", title=event.title),
                said(texts("goal_achieved.body", others=others, title=event.title), action),
                action,
                subject_id=event.goal_id,
                language=texts.language,
            )
        )
    return messages
