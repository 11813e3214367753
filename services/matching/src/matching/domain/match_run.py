"""An audited cohort run: the engine's result for each seat stage, added up into one record with
its pairs (new, kept or moved) and unmatched mentees, announced by MatchRunCompleted, and what
applying it did.

With several mentors per mentee, seat 1 (each person's first focus area) is matched first, then
seat 2 without the mentors seat 1 took, and so on: each stage is solved exactly, the record adds
them up. The run id is derived from the program, the input digest and how the run was asked, so
running again on unchanged inputs finds the stored run instead of making a duplicate."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mentorship_schemas import MatchRunCompleted
from pydantic import BaseModel, ConfigDict, Field
from servicekit.aggregates import AggregateRoot, Emitted
from servicekit.ids import derived_id

from matching.domain.cohort_run import CohortRunResult
from matching.domain.program import Program
from matching.domain.seat import MenteeSeat, SeatStatus
from matching.domain.seat_parts import Match


class PairChange(StrEnum):
    NEW = "new"
    KEPT = "kept"
    MOVED = "moved"  # from current_mentor_id


class RunPair(BaseModel):
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
    components: dict[str, float] | None = None  # unweighted, for learning (not shown to admins)

    def as_match(self) -> Match:
        return as_match(self.mentor_id, self.score, tuple(self.reasons), self.breakdown, self.components)


class RunUnmatched(BaseModel):
    mentee_id: str
    seat: int = 1
    focus: str | None = None
    reason: str


def as_match(
    mentor_id: str,
    score: float,
    reasons: tuple[str, ...],
    breakdown: dict[str, float],
    components: dict[str, float] | None = None,
) -> Match:
    """An engine result as an offer (its score kept within [0, 1] for the event contract)."""
    return Match(mentor_id, min(1.0, max(0.0, round(score, 6))), reasons, breakdown, components)


@dataclass
class Stage:
    """One seat's run: the seats that took part and the engine's result."""

    seat: int
    waiting: list[MenteeSeat]
    result: CohortRunResult


@dataclass
class MergedRun:
    summary: dict[str, Any]
    pairs: list[RunPair]
    unmatched: list[RunUnmatched]


def merge_stages(stages: list[Stage]) -> MergedRun:
    """One record for the run: one stage as it is; several added up, each pair and each unmatched
    mentee naming its seat and focus area."""
    results = [stage.result for stage in stages]
    if len(results) == 1:
        summary: dict[str, Any] = results[0].summary()
    else:
        summary = {
            "input_digest": hashlib.sha256("".join(r.input_digest for r in results).encode()).hexdigest(),
            "weights": results[0].weights,
            "matched": sum(r.matched for r in results),
            "objective": sum(r.objective for r in results),
            "total_score": sum(r.total_score for r in results),
            "optimal": all(r.optimal for r in results),
            "optimality": "; ".join(f"seat {st.seat}: {st.result.optimality}" for st in stages),
            "blocking_pairs": sum(r.blocking_pairs for r in results),
            "greedy_matched": sum(r.greedy_matched for r in results),
            "greedy_objective": sum(r.greedy_objective for r in results),
            "fairness": {f"seat{st.seat}_{k}": v for st in stages for k, v in st.result.fairness.items()},
        }
    summary["mentees"] = sum(len(stage.waiting) for stage in stages)
    focus = {(s.person_id, st.seat): s.focus for st in stages for s in st.waiting}
    current = {
        (s.person_id, st.seat): s.pair.mentor_id
        for st in stages
        for s in st.waiting
        if s.status is SeatStatus.PAIRED and s.pair is not None
    }

    def change(mentee_id: str, seat: int, mentor_id: str) -> PairChange:
        before = current.get((mentee_id, seat))
        return (
            PairChange.NEW if before is None else PairChange.KEPT if before == mentor_id else PairChange.MOVED
        )

    pairs = [
        RunPair(
            **asdict(pair),
            seat=st.seat,
            focus=focus.get((pair.mentee_id, st.seat)),
            change=change(pair.mentee_id, st.seat, pair.mentor_id),
            current_mentor_id=current.get((pair.mentee_id, st.seat)),
        )
        for st in stages
        for pair in st.result.pairs
    ]
    unmatched = [
        RunUnmatched(**asdict(entry), seat=st.seat, focus=focus.get((entry.mentee_id, st.seat)))
        for st in stages
        for entry in st.result.unmatched
    ]
    return MergedRun(summary, pairs, unmatched)


class Applied(BaseModel):
    """What applying a run did: pairs, proposals or requests made, pairs moved or kept, skipped."""

    model_config = ConfigDict(populate_by_name=True)
    as_: str = Field(alias="as")
    made: int = 0
    moved: int = 0
    kept: int = 0
    skipped: list[str] = []


class RunSummary(BaseModel):
    """What a cohort run found, as the audit keeps it and the admin reads it."""

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
    fairness_group_size: int | None = None
    seconds: float
    pair_count: int = 0
    unmatched_count: int = 0


class MatchRun(AggregateRoot, RunSummary):
    applied: Applied | None = None

    @classmethod
    def record(
        cls,
        program: Program,
        merged: MergedRun,
        *,
        apply: bool,
        keep_existing_pairs: bool,
        mentors: int,
        fairness_group_size: int | None,
        seconds: float,
        now: datetime,
    ) -> tuple[MatchRun, list[Emitted]]:
        """The audited run and its MatchRunCompleted; the same inputs give the same run id."""
        run_id = derived_id(
            program.org_id,
            program.program_id,
            merged.summary["input_digest"],
            "apply" if apply else "preview",
            "keep" if keep_existing_pairs else "reconsider",
        )
        run = cls(
            id=run_id,
            run_id=run_id,
            org_id=program.org_id,
            program_id=program.program_id,
            created_at=now,
            approval=program.approval.value,
            preview=not apply,
            keep_existing_pairs=keep_existing_pairs,
            mentors=mentors,
            seconds=round(seconds, 3),
            fairness_group_size=fairness_group_size,
            pair_count=len(merged.pairs),
            unmatched_count=len(merged.unmatched),
            **merged.summary,
        )
        completed = MatchRunCompleted(
            org_id=run.org_id,
            version=run.version + 1,
            run_id=run_id,
            program_id=run.program_id,
            mentees=run.mentees,
            mentors=run.mentors,
            matched=run.matched,
            objective=run.objective,
            optimal=run.optimal,
            seconds=run.seconds,
        )
        return run, [Emitted(completed, derived_id(run_id, "completed"))]

    def mark_applied(self, applied: Applied) -> list[Emitted]:
        if self.applied is None:
            self.applied = applied
        return []
