"""A mentee who needs a mentor now could not get one (MenteeUnmatched): the mentee hears that we
are still looking and why, and the program's admins hear who waits, why, and that they can pair by
hand. The rule comes as a code, rendered in the reader's language; matching's English sentence is
used only for a rule this catalogue does not know yet."""

from __future__ import annotations

from mentorship_schemas import MenteeUnmatched

from notifications.domain.messages.base import Directory, Message, said
from notifications.domain.preferences import Category
from notifications.domain.texts import Texts


def _why(event: MenteeUnmatched, texts: Texts) -> str:
    return texts.code("unmatched.rule", event.rule) or event.reason


def for_mentee_unmatched(event: MenteeUnmatched, directory: Directory) -> list[Message]:
    texts = directory.texts(event.mentee_id)
    cause = "escalated" if event.cause == "escalated" else "proposal_rejected"
    action = texts("unmatched.mentee.action")
    messages = [
        Message(
            event.mentee_id,
            "mentee_unmatched",
            Category.MATCHING,
            texts("unmatched.mentee.title"),
            said(texts(f"unmatched.mentee.body.{cause}"), _why(event, texts), action),
            action,
            subject_id=event.ended_pair_id or event.mentee_id,
            language=texts.language,
        )
    ]
    for admin in directory.admins:
        if admin == event.mentee_id:
            continue
        texts = directory.texts(admin)
        mentee = directory.name(event.mentee_id, event.mentee_id)
        action = texts("unmatched.admin.action")
        messages.append(
            Message(
                admin,
                "mentee_unmatched",
                Category.ESCALATION,
                texts("unmatched.admin.title", mentee=mentee, program=event.program_id),
                said(texts(f"unmatched.admin.body.{cause}", mentee=mentee), _why(event, texts), action),
                action,
                subject_id=event.ended_pair_id or event.mentee_id,
                language=texts.language,
            )
        )
    return messages
