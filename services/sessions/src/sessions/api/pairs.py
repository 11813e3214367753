"""Routes on a pair as a whole: the pair, its agreement (draft, sign), its health, and a
program's health for its admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sessions.api.bodies import AgreementIn, SignIn
from sessions.api.deps import CurrentActor, Sessions
from sessions.api.errors import problems
from sessions.api.views import AgreementOut, PairHealthOut, PairOut, ProgramHealthOut
from sessions.domain.statuses import RelationshipStatus
from sessions.use_cases import members, reports

router = APIRouter(tags=["sessions"])
STATUS_PATTERN = f"^({'|'.join(RelationshipStatus)})$"


@router.get(
    "/pairs/{pair_id}",
    response_model=PairOut,
    summary="A pair: members, agreement and health",
    responses=problems(404, 422),
)
async def get_pair(pair_id: str, ctx: Sessions, actor: CurrentActor) -> PairOut:
    return PairOut.of(await reports.pair_view(ctx, actor, pair_id), ctx.now())


@router.get(
    "/pairs/{pair_id}/agreement",
    response_model=AgreementOut,
    summary="The pair's agreement",
    responses=problems(404, 422),
)
async def get_agreement(pair_id: str, ctx: Sessions, actor: CurrentActor) -> AgreementOut:
    return AgreementOut.of(await reports.pair(ctx, actor, pair_id), ctx.now())


@router.patch(
    "/pairs/{pair_id}/agreement",
    response_model=AgreementOut,
    summary="Change some terms of the draft agreement (the rest are kept; clears signatures)",
    responses=problems(403, 404, 409, 422),
)
async def patch_agreement(
    pair_id: str, body: AgreementIn, ctx: Sessions, actor: CurrentActor
) -> AgreementOut:
    """Only the fields sent change; `roles` and `timezones` change key by key (a null role removes
    it). A change that changes nothing keeps the signatures."""
    relationship = await members.redraft_agreement(ctx, actor, pair_id, body.change(replace=False))
    return AgreementOut.of(relationship, ctx.now())


@router.put(
    "/pairs/{pair_id}/agreement",
    response_model=AgreementOut,
    summary="Replace the draft agreement's terms (left-out fields: as pre-filled; clears signatures)",
    responses=problems(403, 404, 409, 422),
)
async def put_agreement(pair_id: str, body: AgreementIn, ctx: Sessions, actor: CurrentActor) -> AgreementOut:
    """Every term is replaced: the fields sent take their values, the others the values pre-filled
    when the pair was drafted (roles, timezones, cadence, modality). Use PATCH to change a few."""
    relationship = await members.redraft_agreement(ctx, actor, pair_id, body.change(replace=True))
    return AgreementOut.of(relationship, ctx.now())


@router.post(
    "/pairs/{pair_id}/agreement/sign",
    response_model=AgreementOut,
    summary="Sign the agreement; when all have -> AgreementSigned",
    responses=problems(403, 404, 409, 422),
)
async def sign(pair_id: str, body: SignIn, ctx: Sessions, actor: CurrentActor) -> AgreementOut:
    relationship = await members.sign_agreement(ctx, actor, pair_id, body.timezone)
    return AgreementOut.of(relationship, ctx.now())


@router.get(
    "/pairs/{pair_id}/health",
    response_model=PairHealthOut,
    summary="The pair's health, with the reasons",
    responses=problems(404, 422),
)
async def pair_health(pair_id: str, ctx: Sessions, actor: CurrentActor) -> PairHealthOut:
    return PairHealthOut.of_report(await reports.pair_health(ctx, actor, pair_id))


@router.get(
    "/programs/{program_id}/health",
    response_model=ProgramHealthOut,
    summary="A program's health, for its admins (paginated)",
    responses=problems(403, 422),
)
async def program_health(
    program_id: str,
    ctx: Sessions,
    actor: CurrentActor,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    at_risk: Annotated[bool | None, Query(description="Only pairs at risk (true) or not (false).")] = None,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
) -> ProgramHealthOut:
    report = await reports.program_health(
        ctx,
        actor,
        program_id,
        reports.ProgramPage(page, page_size),
        at_risk=at_risk,
        status=RelationshipStatus(status) if status is not None else None,
    )
    return ProgramHealthOut.of(report)
