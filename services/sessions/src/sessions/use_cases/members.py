"""What a pair's members do: agree and sign, schedule, move, cancel and check in sessions, add
agenda items and feedback, keep action items, goals and private notes.

Each use case checks who asks (members change, admins only look), applies one domain method and
saves the relationship with its events in one write; nothing is written when a rule refuses.
"""

from __future__ import annotations

from datetime import datetime

from servicekit.aggregates import Emitted
from servicekit.ids import new_id

from sessions.domain.agreement import AgreementChange, AgreementTerms
from sessions.domain.errors import InvalidInput, NotFound
from sessions.domain.notes import Note
from sessions.domain.parts import ActionItem, FeedbackAnswers, Goal, Session
from sessions.domain.relationship import Relationship
from sessions.use_cases.context import Actor, Forbidden, SessionsContext, change_as_member, visible

SessionView = tuple[Relationship, Session]


# ---------------------------------------------------------------- the agreement


async def redraft_agreement(
    ctx: SessionsContext, actor: Actor, pair_id: str, change: AgreementChange | AgreementTerms
) -> Relationship:
    """PATCH or PUT the draft (see `AgreementChange`) -> AgreementDrafted when it changed."""
    return await change_as_member(
        ctx, actor, pair_id, lambda relationship, now: relationship.redraft_agreement(change, now)
    )


async def sign_agreement(
    ctx: SessionsContext, actor: Actor, pair_id: str, timezone: str | None
) -> Relationship:
    return await change_as_member(
        ctx,
        actor,
        pair_id,
        lambda relationship, now: relationship.sign_agreement(actor.person_id, now, timezone),
    )


# ---------------------------------------------------------------- sessions


async def schedule_session(
    ctx: SessionsContext,
    actor: Actor,
    pair_id: str,
    window: tuple[datetime, datetime],
    location: str | None,
) -> SessionView:
    session_id = new_id()
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.schedule_session(session_id, window, location, now)
    )
    return relationship, relationship.session(session_id)


async def reschedule_session(
    ctx: SessionsContext,
    actor: Actor,
    pair_id: str,
    session_id: str,
    window: tuple[datetime, datetime],
    reason: str | None,
) -> SessionView:
    relationship = await change_as_member(
        ctx,
        actor,
        pair_id,
        lambda rel, now: rel.reschedule_session(session_id, actor.person_id, window, reason, now),
    )
    return relationship, relationship.session(session_id)


async def cancel_session(
    ctx: SessionsContext, actor: Actor, pair_id: str, session_id: str, reason: str | None
) -> SessionView:
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.cancel_session(session_id, actor.person_id, reason, now)
    )
    return relationship, relationship.session(session_id)


async def check_in(ctx: SessionsContext, actor: Actor, pair_id: str, session_id: str) -> SessionView:
    """The session was held -> SessionCompleted (which may close a stagnation episode)."""
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.check_in(session_id, actor.person_id, now)
    )
    return relationship, relationship.session(session_id)


async def check_in_by_session(ctx: SessionsContext, actor: Actor, session_id: str) -> SessionView:
    pair_id = await ctx.queries.pair_of_session(actor.org_id, session_id)
    if pair_id is None:
        raise NotFound("There is no such session.")
    return await check_in(ctx, actor, pair_id, session_id)


async def add_agenda_item(
    ctx: SessionsContext, actor: Actor, pair_id: str, session_id: str, text: str
) -> SessionView:
    item_id = new_id()
    relationship = await change_as_member(
        ctx,
        actor,
        pair_id,
        lambda rel, now: rel.add_agenda_item(session_id, item_id, text, actor.person_id, now),
    )
    return relationship, relationship.session(session_id)


async def give_feedback(
    ctx: SessionsContext, actor: Actor, pair_id: str, session_id: str, answers: FeedbackAnswers
) -> SessionView:
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.give_feedback(session_id, actor.person_id, answers, now)
    )
    return relationship, relationship.session(session_id)


# ---------------------------------------------------------------- action items and goals


async def add_action_item(
    ctx: SessionsContext,
    actor: Actor,
    pair_id: str,
    *,
    title: str,
    owner_id: str,
    due_at: datetime,
    session_id: str | None,
) -> ActionItem:
    item_id = new_id()

    def adding(relationship: Relationship, now: datetime) -> list[Emitted]:
        item = ActionItem(
            item_id=item_id,
            title=title,
            owner_id=owner_id,
            due_at=due_at,
            session_id=session_id,
            created_at=now,
            created_by=actor.person_id,
        )
        return relationship.add_action_item(item, now)

    relationship = await change_as_member(ctx, actor, pair_id, adding)
    return relationship.action_item(item_id)


async def complete_action_item(ctx: SessionsContext, actor: Actor, pair_id: str, item_id: str) -> ActionItem:
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.complete_action_item(item_id, now)
    )
    return relationship.action_item(item_id)


async def add_goal(
    ctx: SessionsContext, actor: Actor, pair_id: str, title: str, milestones: list[str]
) -> Goal:
    goal_id = new_id()
    parts = [(new_id(), milestone) for milestone in milestones]
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.add_goal(goal_id, title, parts, now)
    )
    return relationship.goal(goal_id)


async def reach_milestone(
    ctx: SessionsContext, actor: Actor, pair_id: str, goal_id: str, milestone_id: str
) -> Goal:
    """A milestone reached; the last one achieves the goal -> GoalAchieved."""
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.reach_milestone(goal_id, milestone_id, now)
    )
    return relationship.goal(goal_id)


async def set_goal_progress(
    ctx: SessionsContext, actor: Actor, pair_id: str, goal_id: str, progress: int
) -> Goal:
    relationship = await change_as_member(
        ctx, actor, pair_id, lambda rel, now: rel.set_goal_progress(goal_id, progress, now)
    )
    return relationship.goal(goal_id)


# ---------------------------------------------------------------- private notes


async def add_note(
    ctx: SessionsContext, actor: Actor, pair_id: str, text: str, session_id: str | None
) -> Note:
    """A private note of a member (never in an event; only its author reads it)."""
    relationship = await visible(ctx, actor, pair_id)
    if not relationship.is_member(actor.person_id):
        raise Forbidden("Only the pair's members keep notes on it.")
    if session_id is not None:
        try:
            relationship.session(session_id)
        except NotFound as error:
            raise InvalidInput("session_id", "There is no such session in this pair.") from error
    note = Note(
        note_id=new_id(),
        org_id=actor.org_id,
        pair_id=pair_id,
        session_id=session_id,
        author_id=actor.person_id,
        text=text,
        created_at=ctx.now(),
    )
    await ctx.notes.add(note)
    return note


async def my_notes(ctx: SessionsContext, actor: Actor, pair_id: str) -> list[Note]:
    await visible(ctx, actor, pair_id)
    return await ctx.notes.of_author(actor.org_id, pair_id, actor.person_id)
