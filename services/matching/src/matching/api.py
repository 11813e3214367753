"""HTTP routes the portal calls about pairs (a person's own, or any in the org for admins; ending
one; escalating a stagnant one) and admins' cohort runs (optimal, explained, audited matching)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from mentorship_schemas.events import PairEndReason
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import CurrentPrincipal, Principal, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from matching.cohort_runs import FIRST_PAGE, MATCH_RUNS, run_cohort_for_program, run_items, with_first_page
from matching.domain.programs import MatchingPolicy, MatchingRules, ProgramType
from matching.flows import match_continuously
from matching.pool import PAIRED, end_pair
from matching.programs import Approval, require_program

router = APIRouter(prefix="/pairs", tags=["pairs"])


class Stagnation(BaseModel):
    episode_id: str
    severity: str
    reasons: list[str]
    suggested_actions: list[str] = []
    since: datetime | None = None


class PairOut(BaseModel):
    pair_id: str
    program_id: str
    mentee_id: str
    mentor_id: str
    score: float
    reasons: list[str]
    breakdown: dict[str, float] = {}
    created_at: datetime
    ends_at: datetime | None = None
    focus: str | None = Field(
        default=None, description="The focus area, when the program has several per mentee."
    )
    stagnation: Stagnation | None = None


def _pair_out(document: dict[str, Any]) -> PairOut:
    return PairOut(mentee_id=document["person_id"], **document["pair"])


@router.get("", response_model=list[PairOut], summary="Pairs a person is in")
async def list_pairs(
    request: Request,
    principal: CurrentPrincipal,
    person: str | None = Query(default=None, max_length=128, description="Defaults to the caller."),
    limit: int = Query(default=50, ge=1, le=200),
) -> list[PairOut]:
    person_id = person or principal.employee_id
    forbid_unless(person_id == principal.employee_id or principal.is_admin, "see another person's pairs")
    runtime: ServiceRuntime = request.app.state.runtime
    query = {
        "org_id": principal.org_id,
        "role": "mentee",
        "status": PAIRED,
        "$or": [{"person_id": person_id}, {"pair.mentor_id": person_id}],
    }
    return [_pair_out(doc) async for doc in runtime.db["candidates"].find(query, limit=limit)]


async def _pair_for(runtime: ServiceRuntime, principal: Principal, pair_id: str) -> dict[str, Any]:
    """The mentee document of a current pair the caller is in (or any, for admins); 404 otherwise,
    so people outside the pair cannot learn that it exists."""
    document = await runtime.db["candidates"].find_one(
        {"org_id": principal.org_id, "role": "mentee", "status": PAIRED, "pair.pair_id": pair_id}
    )
    if document is None:
        raise Problem(404, "Not Found", "no such current pair")
    members = {document["person_id"], document["pair"]["mentor_id"]}
    if principal.employee_id not in members and not principal.is_admin:
        raise Problem(404, "Not Found", "no such current pair")
    return document


@router.get("/{pair_id}", response_model=PairOut, summary="One current pair, with why it was made")
async def get_pair(
    request: Request, principal: CurrentPrincipal, pair_id: str = Path(min_length=1, max_length=128)
) -> PairOut:
    return _pair_out(await _pair_for(request.app.state.runtime, principal, pair_id))


class EndReason(StrEnum):
    COMPLETED = PairEndReason.COMPLETED.value
    NOT_A_FIT = PairEndReason.NOT_A_FIT.value
    STAGNANT = PairEndReason.STAGNANT.value
    MENTOR_LEFT = PairEndReason.MENTOR_LEFT.value
    MENTEE_LEFT = PairEndReason.MENTEE_LEFT.value
    OTHER = PairEndReason.OTHER.value


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: EndReason


class EndOut(BaseModel):
    pair_id: str
    reason: str
    rematching: bool = Field(description="The mentee is back in the pool, without this mentor.")


async def _end(runtime: ServiceRuntime, document: dict[str, Any], reason: PairEndReason) -> EndOut:
    if not await end_pair(runtime, document, reason):
        raise Problem(409, "Conflict", "the pair changed meanwhile; read it and retry")
    rematching = reason in {PairEndReason.NOT_A_FIT, PairEndReason.STAGNANT, PairEndReason.MENTOR_LEFT}
    # Rematch the mentee, and offer the mentor's freed place to whoever waits (profiles announces
    # the mentor only if they were full).
    await match_continuously(runtime, document["org_id"])
    return EndOut(pair_id=document["pair"]["pair_id"], reason=reason.value, rematching=rematching)


@router.post("/{pair_id}/end", response_model=EndOut, summary="End a pair (its mentee, mentor or an admin)")
async def end(
    request: Request,
    principal: CurrentPrincipal,
    body: EndIn,
    pair_id: str = Path(min_length=1, max_length=128),
) -> EndOut:
    runtime: ServiceRuntime = request.app.state.runtime
    document = await _pair_for(runtime, principal, pair_id)
    return await _end(runtime, document, PairEndReason(body.reason.value))


@router.post(
    "/{pair_id}/escalate",
    response_model=EndOut,
    summary="Escalate a stagnant pair: it ends and the mentee is matched again (pair or admin)",
)
async def escalate(
    request: Request, principal: CurrentPrincipal, pair_id: str = Path(min_length=1, max_length=128)
) -> EndOut:
    runtime: ServiceRuntime = request.app.state.runtime
    document = await _pair_for(runtime, principal, pair_id)
    if not document["pair"].get("stagnation"):
        raise Problem(409, "Conflict", "this pair has no open stagnation signal to escalate")
    return await _end(runtime, document, PairEndReason.STAGNANT)


cohort_runs = APIRouter(tags=["cohort runs"])


class CohortRunIn(BaseModel):
    """Run the program's matching now. Fields left out take the program's settings."""

    model_config = ConfigDict(extra="forbid")
    apply: bool = Field(
        default=True,
        description="false: a preview, stored and served, that pairs, proposes and requests nothing.",
    )
    keep_existing_pairs: bool = Field(
        default=True,
        description="false: current pairs of the program (whose mentor takes mentees now) are reconsidered "
        "too; applying moves those the optimum reassigns (PairEnded + PairCreated) and never unpairs anyone.",
    )
    weights: dict[str, float] | None = Field(default=None, description="Component -> weight.")
    require_shared_language: bool | None = None
    load_spread_penalty: float | None = Field(default=None, ge=0, le=1)


class CohortPairOut(BaseModel):
    mentee_id: str
    seat: int = 1
    focus: str | None = None
    mentor_id: str
    change: str = Field(default="new", description="new | kept | moved (from current_mentor_id)")
    current_mentor_id: str | None = None
    score: float
    breakdown: dict[str, float]
    reasons: list[str]


class UnmatchedOut(BaseModel):
    mentee_id: str
    seat: int = 1
    focus: str | None = None
    reason: str


class CohortRunOut(BaseModel):
    run_id: str
    program_id: str
    created_at: datetime
    approval: str
    preview: bool
    keep_existing_pairs: bool = True
    input_digest: str
    weights: dict[str, float]
    mentees: int
    mentors: int
    matched: int
    objective: float
    total_score: float
    optimal: bool
    optimality: str
    blocking_pairs: int
    greedy_matched: int
    greedy_objective: float
    fairness: dict[str, float]
    fairness_group_size: int | None
    seconds: float
    pair_count: int = 0
    unmatched_count: int = 0
    pairs: list[CohortPairOut] = Field(description=f"The first {FIRST_PAGE}; the rest: GET .../pairs.")
    unmatched: list[UnmatchedOut] = Field(description=f"The first {FIRST_PAGE}; the rest: GET .../unmatched.")
    applied: dict[str, Any] | None = Field(
        description="What applying the run did: pairs, proposals or requests made, mentees skipped."
    )


@cohort_runs.post(
    "/programs/{program_id}/cohort-runs",
    response_model=CohortRunOut,
    status_code=201,
    summary="Run optimal matching over the program's waiting mentees and its mentors (admins)",
)
async def create_cohort_run(
    request: Request,
    principal: CurrentPrincipal,
    body: CohortRunIn,
    program_id: str = Path(min_length=1, max_length=64),
) -> dict[str, Any]:
    forbid_unless(principal.is_admin, "run a cohort match")
    runtime: ServiceRuntime = request.app.state.runtime
    program = await require_program(runtime, principal.org_id, program_id)
    if program.type is ProgramType.CIRCLES:
        raise Problem(422, "Unprocessable Content", "a circles program forms circles: POST .../circles")
    base = program.policy()
    try:
        policy = MatchingPolicy(
            org_id=principal.org_id,
            program_type=base.program_type,
            weights=body.weights if body.weights is not None else base.weights,
            rules=MatchingRules(
                require_shared_language=(
                    body.require_shared_language
                    if body.require_shared_language is not None
                    else base.rules.require_shared_language
                ),
                focus_skill=base.rules.focus_skill,
            ),
            load_spread_penalty=(
                body.load_spread_penalty if body.load_spread_penalty is not None else base.load_spread_penalty
            ),
            program_mentor_capacity=base.program_mentor_capacity,
        )
    except ValueError as error:
        raise Problem(422, "Unprocessable Content", str(error)) from error
    if body.apply and not body.keep_existing_pairs and program.approval is Approval.MENTOR:
        raise Problem(
            422,
            "Unprocessable Content",
            "moving existing pairs needs each new mentor's acceptance in this program: preview it "
            "(apply: false) and end the pairs to change instead",
        )
    return await run_cohort_for_program(
        runtime, program, policy, apply=body.apply, keep_existing_pairs=body.keep_existing_pairs
    )


async def _stored_run(runtime: ServiceRuntime, principal: Principal, run_id: str) -> dict[str, Any]:
    forbid_unless(principal.is_admin, "see cohort runs")
    run = await runtime.db[MATCH_RUNS].find_one({"_id": run_id})
    if run is None or run.get("org_id") != principal.org_id:
        raise Problem(404, "Not Found", "no such cohort run")
    return run


@cohort_runs.get("/cohort-runs/{run_id}", response_model=CohortRunOut, summary="A stored cohort run (admins)")
async def get_cohort_run(
    request: Request, principal: CurrentPrincipal, run_id: str = Path(min_length=1, max_length=128)
) -> dict[str, Any]:
    runtime: ServiceRuntime = request.app.state.runtime
    return await with_first_page(runtime, await _stored_run(runtime, principal, run_id))


def _paged(kind: str, response_model: Any, summary: str) -> None:
    """GET /cohort-runs/{run_id}/<kind>: a page of a stored run's `pairs` or `unmatched` (admins)."""

    async def page(
        request: Request,
        principal: CurrentPrincipal,
        run_id: str = Path(min_length=1, max_length=128),
        offset: int = Query(default=0, ge=0),
        limit: int = Query(default=FIRST_PAGE, ge=1, le=10_000),
    ) -> list[dict[str, Any]]:
        runtime: ServiceRuntime = request.app.state.runtime
        await _stored_run(runtime, principal, run_id)
        return await run_items(runtime, run_id, kind, offset, limit)

    cohort_runs.add_api_route(
        f"/cohort-runs/{{run_id}}/{kind}",
        page,
        methods=["GET"],
        response_model=response_model,
        summary=summary,
    )


_paged("pairs", list[CohortPairOut], "A page of a run's pairs (admins)")
_paged("unmatched", list[UnmatchedOut], "A page of a run's unmatched mentees, each with the reason (admins)")
