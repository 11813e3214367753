"""What matching's outcomes tell each person: a pair formed, a request to answer, a request that
ended, a proposal to approve, a circle formed, a pair ended. Each in the recipient's language."""

from __future__ import annotations

from mentorship_schemas import (
    CircleFormed,
    MatchProposed,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
)
from mentorship_schemas.events import PairEndReason

from notifications.domain.messages.base import Directory, Message, said
from notifications.domain.messages.reasons import why_matched
from notifications.domain.preferences import Category
from notifications.domain.texts import Texts

# Ending a pair for one of these puts the mentee back into matching (matching's REMATCH_REASONS).
_REMATCHED = frozenset({PairEndReason.NOT_A_FIT, PairEndReason.STAGNANT, PairEndReason.MENTOR_LEFT})
# Why a request ended (PairDeclined's `reason`) that has its own wording; others read "closed".
_REQUEST_ENDINGS = frozenset({"declined", "expired", "mentor_unavailable"})


def for_pair_created(event: PairCreated, directory: Directory) -> list[Message]:
    """Both people: who, why they were matched, and to agree on goals and cadence."""
    messages = []
    for person, other, role, unknown in (
        (event.mentee_id, event.mentor_id, "mentee", "pair_created.unknown_mentor"),
        (event.mentor_id, event.mentee_id, "mentor", "pair_created.unknown_mentee"),
    ):
        texts = directory.texts(person)
        name = directory.name(other, texts(unknown))
        action = texts("pair_created.action")
        messages.append(
            Message(
                person,
                "pair_created",
                Category.MATCHING,
                texts(f"pair_created.{role}.title", name=name),
                said(texts("pair_created.body", name=name), why_matched(event.reasons, texts), action),
                action,
                subject_id=event.pair_id,
                language=texts.language,
            )
        )
    return messages


def for_mentorship_requested(event: MentorshipRequested, directory: Directory) -> list[Message]:
    texts = directory.texts(event.mentor_id)
    mentee = directory.name(event.mentee_id, texts("someone.colleague_subject"))
    deadline = directory.local_time(event.answer_by, event.mentor_id)
    note = texts("mentorship_requested.note", note=event.message) if event.message else ""
    action = texts("mentorship_requested.action", deadline=deadline)
    return [
        Message(
            event.mentor_id,
            "mentorship_requested",
            Category.MATCHING,
            texts("mentorship_requested.title", mentee=mentee),
            said(texts("mentorship_requested.body", mentee=mentee), note, action),
            action,
            expires_at=event.answer_by,
            subject_id=event.request_id,
            language=texts.language,
        )
    ]


def for_pair_declined(event: PairDeclined, directory: Directory) -> list[Message]:
    """The mentee hears why their request ended and what now; a request the mentee withdrew
    themselves tells the mentor instead, who no longer needs to answer it. A proposal an admin
    rejected tells no one: neither person had heard of it (MatchProposed goes to admins only)."""
    if event.reason == "rejected":
        return []
    if event.reason == "withdrawn":
        texts = directory.texts(event.mentor_id)
        mentee = directory.name(event.mentee_id, texts("someone.colleague_subject"))
        action = texts("request_withdrawn.action")
        return [
            Message(
                event.mentor_id,
                "request_withdrawn",
                Category.MATCHING,
                texts("request_withdrawn.title", mentee=mentee),
                said(texts("request_withdrawn.body", mentee=mentee), action),
                action,
                subject_id=event.request_id,
                language=texts.language,
            )
        ]
    texts = directory.texts(event.mentee_id)
    # `{Mentor}` starts a sentence, `{mentor}` does not (they differ only for an unknown mentor).
    names = {
        "Mentor": directory.name(event.mentor_id, texts("request_ended.unknown_mentor_subject")),
        "mentor": directory.name(event.mentor_id, texts("request_ended.unknown_mentor")),
    }
    ending = event.reason if event.reason in _REQUEST_ENDINGS else "closed"
    action = texts(f"request_ended.{ending}.action")
    return [
        Message(
            event.mentee_id,
            "request_declined",
            Category.MATCHING,
            texts(f"request_ended.{ending}.title", **names),
            said(texts(f"request_ended.{ending}.body", **names), action),
            action,
            subject_id=event.request_id,
            language=texts.language,
        )
    ]


def for_match_proposed(event: MatchProposed, directory: Directory) -> list[Message]:
    """A proposed pair awaits a program admin's approval: the org's escalation contacts hear of it.
    The mentee and mentor hear nothing yet (PairCreated tells them once it is approved)."""
    messages = []
    for admin in directory.admins:
        if admin in (event.mentor_id, event.mentee_id):
            continue
        texts = directory.texts(admin)
        names = {
            "mentee": directory.name(event.mentee_id, event.mentee_id),
            "mentor": directory.name(event.mentor_id, event.mentor_id),
        }
        body = texts(
            "match_proposed.body", program=event.program_id, score=texts.number(event.score), **names
        )
        action = texts("match_proposed.action")
        messages.append(
            Message(
                admin,
                "match_proposed",
                Category.ESCALATION,
                texts("match_proposed.title", **names),
                said(body, why_matched(event.reasons, texts), action),
                action,
                subject_id=event.proposal_id,
                language=texts.language,
            )
        )
    return messages


def _circle_members(member: str, members: list[str], directory: Directory) -> str:
    """The other members by name; people we have no profile of are counted, not left blank."""
    texts = directory.texts(member)
    others = [p for p in members if p != member]
    named = [name for p in others if (name := directory.name(p, ""))]
    if unnamed := len(others) - len(named):
        named.append(
            texts.plural("circle_formed.unnamed_more" if named else "circle_formed.unnamed", unnamed)
        )
    return texts.listed(named) or texts("circle_formed.no_members")


def for_circle_formed(event: CircleFormed, directory: Directory) -> list[Message]:
    """Every member: who else is in the circle, its topics, and who facilitates the first meeting
    (the first of the rota)."""
    members = list(dict.fromkeys(event.member_ids))
    first = event.facilitator_rota[0] if event.facilitator_rota else None
    topics = ", ".join(event.topics)
    messages = []
    for member in members:
        texts = directory.texts(member)
        if first is None:
            action = texts("circle_formed.action.agree")
        elif first == member:
            action = texts("circle_formed.action.you")
        else:
            facilitator = directory.name(first, texts("someone.facilitator"))
            action = texts("circle_formed.action.other", facilitator=facilitator)
        title = texts("circle_formed.title_topics", topics=topics) if topics else texts("circle_formed.title")
        body = texts("circle_formed.body", members=_circle_members(member, members, directory))
        messages.append(
            Message(
                member,
                "circle_formed",
                Category.MATCHING,
                title,
                said(body, texts("circle_formed.topics", topics=topics) if topics else "", action),
                action,
                subject_id=event.circle_id,
                language=texts.language,
            )
        )
    return messages


def _pair_ended_wording(event: PairEnded, person: str, texts: Texts) -> tuple[str, str]:
    """The body's and the action's catalogue keys for `person`."""
    body = f"pair_ended.body.{event.reason.value}"
    if not texts.has(body):
        body = "pair_ended.body.other"  # a reason added to the contract after this release
    leaver = {PairEndReason.MENTOR_LEFT: event.mentor_id, PairEndReason.MENTEE_LEFT: event.mentee_id}
    if leaver.get(event.reason) == person:
        body += ".you"
    if event.reason is PairEndReason.COMPLETED:
        action = "pair_ended.action.completed"
    elif person == event.mentor_id:
        action = "pair_ended.action.mentor"
    else:
        action = "pair_ended.action.rematch" if event.reason in _REMATCHED else "pair_ended.action.mentee"
    return body, action


def for_pair_ended(event: PairEnded, directory: Directory) -> list[Message]:
    """Both: why it ended, in words, and what is next for each."""
    messages = []
    for person in (event.mentee_id, event.mentor_id):
        texts = directory.texts(person)
        others = directory.others(person, [event.mentor_id, event.mentee_id])
        body, action = _pair_ended_wording(event, person, texts)
        messages.append(
            Message(
                person,
                "pair_ended",
                Category.MATCHING,
                texts("pair_ended.title", others=others),
                said(texts(body, others=others), texts(action)),
                texts(action),
                subject_id=event.pair_id,
                language=texts.language,
            )
        )
    return messages
