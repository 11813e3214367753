"""Routes on a pair's action items (owner and due date) and goals (with milestones)."""

from __future__ import annotations

from fastapi import APIRouter

from sessions.api.bodies import ActionItemIn, GoalIn, ProgressIn
from sessions.api.deps import CurrentActor, Sessions
from sessions.api.errors import problems
from sessions.api.views import ActionItemOut, GoalOut
from sessions.use_cases import members, reports

router = APIRouter(tags=["sessions"])
CHANGE_ERRORS = problems(403, 404, 409, 422)


@router.post(
    "/pairs/{pair_id}/action-items",
    response_model=ActionItemOut,
    response_model_exclude_unset=True,
    status_code=201,
    summary="An action item with owner and due date",
    responses=CHANGE_ERRORS,
)
async def add_action_item(
    pair_id: str, body: ActionItemIn, ctx: Sessions, actor: CurrentActor
) -> ActionItemOut:
    item = await members.add_action_item(
        ctx,
        actor,
        pair_id,
        title=body.title,
        owner_id=body.owner_id,
        due_at=body.due_at,
        session_id=body.session_id,
    )
    return ActionItemOut.of(item)


@router.get(
    "/pairs/{pair_id}/action-items",
    response_model=list[ActionItemOut],
    response_model_exclude_unset=True,
    summary="The pair's action items",
    responses=problems(404, 422),
)
async def list_action_items(pair_id: str, ctx: Sessions, actor: CurrentActor) -> list[ActionItemOut]:
    relationship = await reports.pair(ctx, actor, pair_id)
    return [ActionItemOut.of(item) for item in relationship.action_items]


@router.post(
    "/pairs/{pair_id}/action-items/{item_id}/done",
    response_model=ActionItemOut,
    response_model_exclude_unset=True,
    summary="Mark an action item done",
    responses=CHANGE_ERRORS,
)
async def action_item_done(pair_id: str, item_id: str, ctx: Sessions, actor: CurrentActor) -> ActionItemOut:
    return ActionItemOut.of(await members.complete_action_item(ctx, actor, pair_id, item_id))


@router.post(
    "/pairs/{pair_id}/goals",
    response_model=GoalOut,
    status_code=201,
    summary="A goal with milestones",
    responses=CHANGE_ERRORS,
)
async def add_goal(pair_id: str, body: GoalIn, ctx: Sessions, actor: CurrentActor) -> GoalOut:
    return GoalOut.of(await members.add_goal(ctx, actor, pair_id, body.title, body.milestones))


@router.get(
    "/pairs/{pair_id}/goals",
    response_model=list[GoalOut],
    summary="The pair's goals and milestones",
    responses=problems(404, 422),
)
async def list_goals(pair_id: str, ctx: Sessions, actor: CurrentActor) -> list[GoalOut]:
    return [GoalOut.of(goal) for goal in (await reports.pair(ctx, actor, pair_id)).goals]


@router.post(
    "/pairs/{pair_id}/goals/{goal_id}/milestones/{milestone_id}/done",
    response_model=GoalOut,
    summary="A milestone reached",
    responses=CHANGE_ERRORS,
)
async def milestone_done(
    pair_id: str, goal_id: str, milestone_id: str, ctx: Sessions, actor: CurrentActor
) -> GoalOut:
    return GoalOut.of(await members.reach_milestone(ctx, actor, pair_id, goal_id, milestone_id))


@router.put(
    "/pairs/{pair_id}/goals/{goal_id}/progress",
    response_model=GoalOut,
    summary="Set a goal's progress (100 = achieved)",
    responses=CHANGE_ERRORS,
)
async def goal_progress(
    pair_id: str, goal_id: str, body: ProgressIn, ctx: Sessions, actor: CurrentActor
) -> GoalOut:
    return GoalOut.of(await members.set_goal_progress(ctx, actor, pair_id, goal_id, body.progress))
