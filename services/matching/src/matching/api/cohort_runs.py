"""HTTP routes for admins' cohort runs: optimal, explained, audited matching of a program, and the
stored runs with their pairs and unmatched mentees in pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.match_run import PairChange, RunSummary
from matching.use_cases import cohort_runs
from matching.use_cases.cohort_runs import FIRST_PAGE, PolicyOverrides, RunReport
from matching.use_cases.context import RunItemKind

RunPath = Annotated[str, Path(min_length=1, max_length=128)]
router = APIRouter(tags=["cohort runs"])


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
    change: PairChange = Field(
        default=PairChange.NEW, description="new | kept | moved (from current_mentor_id)"
    )
    current_mentor_id: str | None = None
    score: float
    breakdown: dict[str, float]
    reasons: list[str]


class UnmatchedOut(BaseModel):
    mentee_id: str
    seat: int = 1
    focus: str | None = None
    reason: str


class CohortRunOut(RunSummary):
    pairs: list[CohortPairOut] = Field(description=f"The first {FIRST_PAGE}; the rest: GET .../pairs.")
    unmatched: list[UnmatchedOut] = Field(description=f"The first {FIRST_PAGE}; the rest: GET .../unmatched.")
    applied: dict[str, Any] | None = Field(
        description="What applying the run did: pairs, proposals or requests made, mentees skipped."
    )


def _out(report: RunReport) -> CohortRunOut:
    run = report.run
    return CohortRunOut.model_validate(
        run.model_dump(exclude={"id", "applied"})
        | {
            "pairs": report.pairs,
            "unmatched": report.unmatched,
            "applied": run.applied.model_dump(by_alias=True) if run.applied else None,
        }
    )


@router.post(
    "/programs/{program_id}/cohort-runs",
    response_model=CohortRunOut,
    status_code=201,
    summary="Run optimal matching over the program's waiting mentees and its mentors (admins)",
    responses=problems(403, 404, 422),
)
async def create_cohort_run(
    matching: MatchingDep,
    caller: CallerDep,
    body: CohortRunIn,
    program_id: str = Path(min_length=1, max_length=64),
) -> CohortRunOut:
    forbid_unless(caller.is_admin, "run a cohort match")
    overrides = PolicyOverrides(body.weights, body.require_shared_language, body.load_spread_penalty)
    report = await cohort_runs.run_cohort_now(
        matching,
        caller.org_id,
        program_id,
        overrides,
        apply=body.apply,
        keep_existing_pairs=body.keep_existing_pairs,
    )
    return _out(report)


@router.get(
    "/cohort-runs/{run_id}",
    response_model=CohortRunOut,
    summary="A stored cohort run (admins)",
    responses=problems(403, 404),
)
async def get_cohort_run(matching: MatchingDep, caller: CallerDep, run_id: RunPath) -> CohortRunOut:
    forbid_unless(caller.is_admin, "see cohort runs")
    run = await cohort_runs.stored_run(matching, caller.org_id, run_id)
    return _out(await cohort_runs.report(matching, run))


Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=10_000)]


@router.get(
    "/cohort-runs/{run_id}/pairs",
    response_model=list[CohortPairOut],
    summary="A page of a run's pairs (admins)",
    responses=problems(403, 404),
)
async def run_pairs(
    matching: MatchingDep, caller: CallerDep, run_id: RunPath, offset: Offset = 0, limit: Limit = FIRST_PAGE
) -> list[dict[str, Any]]:
    forbid_unless(caller.is_admin, "see cohort runs")
    return await cohort_runs.run_page(matching, caller.org_id, run_id, RunItemKind.PAIRS, offset, limit)


@router.get(
    "/cohort-runs/{run_id}/unmatched",
    response_model=list[UnmatchedOut],
    summary="A page of a run's unmatched mentees, each with the reason (admins)",
    responses=problems(403, 404),
)
async def run_unmatched(
    matching: MatchingDep, caller: CallerDep, run_id: RunPath, offset: Offset = 0, limit: Limit = FIRST_PAGE
) -> list[dict[str, Any]]:
    forbid_unless(caller.is_admin, "see cohort runs")
    return await cohort_runs.run_page(matching, caller.org_id, run_id, RunItemKind.UNMATCHED, offset, limit)
