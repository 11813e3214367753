"""Fairness as a constraint, not a report: at least a given share of a consented group is matched.

Solved with CP-SAT over the same candidate arcs and the same lexicographic objective as the flow
(matched first, then score minus load-spread penalty). A group floor breaks the flow structure in
general (overlapping groups, score floors), hence an integer program."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.domain.assignment import (
    MICRO,
    Assignment,
    Capacities,
    Certificate,
    Shortlist,
    assignment_of,
    lexicographic_weight,
)


@dataclass(frozen=True)
class GroupFloor:
    """At least `min_match_rate` of the consenting `member_ids` (who are in the run) get a mentor,
    and (when set) the group's matched pairs score `min_average_score` or more on average."""

    member_ids: frozenset[str]
    min_match_rate: float
    min_average_score: float | None = None
    time_limit_seconds: float = 30.0


def solve_with_group_floor(
    mentee_count: int,
    capacities: Capacities,
    candidates: Shortlist,
    members: npt.NDArray[np.bool_],
    floor: GroupFloor,
) -> tuple[Assignment, bool, str, dict[str, float]]:
    # Imported here: CP-SAT brings pandas (0.3 s and tens of MB in every process that imports the
    # engine), and only an audited run with a fairness floor needs it.
    from ortools.sat.python import cp_model

    mentee, mentor, score = candidates.mentee, candidates.mentor, candidates.score
    model = cp_model.CpModel()
    chosen = [model.new_bool_var(f"x{a}") for a in range(len(mentee))]
    by_mentee: list[list[int]] = [[] for _ in range(mentee_count)]
    by_mentor: list[list[int]] = [[] for _ in range(len(capacities.capacity))]
    for arc, (i, j) in enumerate(zip(mentee.tolist(), mentor.tolist(), strict=True)):
        by_mentee[i].append(arc)
        by_mentor[j].append(arc)
    for arcs in by_mentee:
        if arcs:
            model.add_at_most_one(chosen[a] for a in arcs)
    penalty_terms = []
    for j, arcs in enumerate(by_mentor):
        if not arcs:
            continue
        slots = [model.new_bool_var(f"s{j}_{t}") for t in range(int(capacities.capacity[j]))]
        model.add(sum(chosen[a] for a in arcs) == sum(slots))
        for earlier, later in itertools.pairwise(slots):
            model.add_implication(later, earlier)
        base = int(capacities.existing_load[j])
        penalty_terms += [capacities.spread_penalty * (base + t) * slot for t, slot in enumerate(slots)]
    group = np.flatnonzero(members)
    required = math.ceil(floor.min_match_rate * len(group) - 1e-9)
    group_arcs = [a for i in group.tolist() for a in by_mentee[i]]
    model.add(sum(chosen[a] for a in group_arcs) >= required)
    if floor.min_average_score is not None:
        # Average over matched members >= floor, kept linear: sum of (score - floor) >= 0.
        least = round(floor.min_average_score * MICRO)
        model.add(sum((int(score[a]) - least) * chosen[a] for a in group_arcs) >= 0)
    big_m = lexicographic_weight(mentee_count, capacities)
    model.maximize(
        sum((big_m + int(s)) * chosen[a] for a, s in enumerate(score.tolist())) - sum(penalty_terms)
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = floor.time_limit_seconds
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        empty = np.zeros(0, dtype=np.int64)
        result = assignment_of(capacities, empty, empty, empty)
        return (
            result,
            False,
            f"infeasible: the group floor of {required} matched cannot be met",
            {
                "group_size": float(len(group)),
                "required": float(required),
                "group_matched": 0.0,
            },
        )
    picked = np.asarray([solver.boolean_value(x) for x in chosen], dtype=bool)
    result = assignment_of(capacities, mentee[picked], mentor[picked], score[picked])
    optimal = status == cp_model.OPTIMAL
    result.certificate = Certificate(optimal, 1, 0, 0, len(mentee))
    gap = abs(solver.best_objective_bound - solver.objective_value)
    quality = "optimal" if optimal else f"feasible, bound gap {gap}"
    how = f"CP-SAT {quality} over {len(mentee)} candidate arcs"
    group_matched = int(np.isin(result.mentee, group).sum())
    figures = {
        "group_size": float(len(group)),
        "required": float(required),
        "group_matched": float(group_matched),
        "group_match_rate": group_matched / len(group) if len(group) else 1.0,
        "group_average_score": float(result.score[np.isin(result.mentee, group)].mean() / MICRO)
        if group_matched
        else 0.0,
        "overall_match_rate": result.matched / mentee_count if mentee_count else 1.0,
    }
    return result, optimal, how, figures
