"""HTTP routes the portal calls: a person's pairs (their own, or any in the org for admins), and
admins' cohort runs (optimal, explained matching over the org's waiting mentees)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from matching.cohort_runs import MATCH_RUNS, run_cohort_for_org
from matching.domain.programs import DEFAULT_WEIGHTS, MatchingPolicy, MatchingRules, ProgramType

router = APIRouter(prefix="/pairs", tags=["pairs"])


class PairOut(BaseModel):
    pair_id: str
    program_id: str
    mentee_id: str
    mentor_id: str
    score: float
    reasons: list[str]
    created_at: datetime


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
        "status": "paired",
        "$or": [{"person_id": person_id}, {"pair.mentor_id": person_id}],
    }
    return [
        PairOut(mentee_id=doc["person_id"], **doc["pair"])
        async for doc in runtime.db["candidates"].find(query, limit=limit)
    ]


cohort_runs = APIRouter(tags=["cohort runs"])


class CohortRunIn(BaseModel):
    program_type: ProgramType = ProgramType.ONE_TO_ONE
    weights: dict[str, float] | None = Field(default=None, description="Component -> weight; defaults apply.")
    require_shared_language: bool = True
    focus_skill: str | None = Field(default=None, max_length=100)
    load_spread_penalty: float = Field(default=0.01, ge=0, le=1)
    program_mentor_capacity: int | None = Field(default=None, ge=1, le=50)


class CohortPairOut(BaseModel):
    mentee_id: str
    mentor_id: str
    score: float
    breakdown: dict[str, float]
    reasons: list[str]


class UnmatchedOut(BaseModel):
    mentee_id: str
    reason: str


class CohortRunOut(BaseModel):
    run_id: str
    program_id: str
    created_at: datetime
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
    seconds: float
    pairs: list[CohortPairOut]
    unmatched: list[UnmatchedOut]


@cohort_runs.post(
    "/programs/{program_id}/cohort-runs",
    response_model=CohortRunOut,
    status_code=201,
    summary="Run optimal matching over the org's waiting mentees and available mentors (admins)",
)
async def create_cohort_run(
    request: Request,
    principal: CurrentPrincipal,
    body: CohortRunIn,
    program_id: str = Path(min_length=1, max_length=128),
) -> dict[str, Any]:
    forbid_unless(principal.is_admin, "run a cohort match")
    try:
        policy = MatchingPolicy(
            org_id=principal.org_id,
            program_type=body.program_type,
            weights=body.weights if body.weights is not None else dict(DEFAULT_WEIGHTS),
            rules=MatchingRules(
                require_shared_language=body.require_shared_language, focus_skill=body.focus_skill
            ),
            load_spread_penalty=body.load_spread_penalty,
            program_mentor_capacity=body.program_mentor_capacity,
        )
    except ValueError as error:
        raise Problem(422, "Unprocessable Content", str(error)) from error
    runtime: ServiceRuntime = request.app.state.runtime
    return await run_cohort_for_org(runtime, program_id, policy)


@cohort_runs.get("/cohort-runs/{run_id}", response_model=CohortRunOut, summary="A stored cohort run (admins)")
async def get_cohort_run(
    request: Request, principal: CurrentPrincipal, run_id: str = Path(min_length=1, max_length=128)
) -> dict[str, Any]:
    forbid_unless(principal.is_admin, "see cohort runs")
    runtime: ServiceRuntime = request.app.state.runtime
    run = await runtime.db[MATCH_RUNS].find_one({"_id": run_id})
    if run is None or run.get("org_id") != principal.org_id:
        raise Problem(404, "Not Found", "no such cohort run")
    return run
