"""A cohort run from profiles to an audited result: hard rules, scores, shortlist, certified optimal
assignment, explanations, unmatched reasons, blocking pairs and (when asked) a fairness floor."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from matching.domain.assignment import (
    MICRO,
    Assignment,
    BoolArray,
    Capacities,
    IntArray,
    RowOracle,
    ScoreArray,
    Shortlist,
    blocking_pairs,
    greedy,
    shortlist,
    solve_certified,
)
from matching.domain.cohort import Cohort, MatchProfile, encode_cohort
from matching.domain.compatibility import (
    ContributionTables,
    Explanation,
    allowed_block,
    block_scores,
    contribution_tables,
    explain_pairs,
)
from matching.domain.fairness import GroupFloor, solve_with_group_floor
from matching.domain.programs import MatchingPolicy
from matching.domain.rules import Rule, why_unmatched
from matching.domain.semantic_goals import SemanticGoals
from matching.domain.unmatched import mentor_rules, rules_for


@dataclass(frozen=True)
class UnmatchedMentee:
    mentee_id: str
    reason: str


@dataclass
class CohortRunResult:
    input_digest: str
    weights: dict[str, float]
    pairs: list[Explanation]
    unmatched: list[UnmatchedMentee]
    matched: int
    objective: float
    total_score: float
    optimal: bool
    optimality: str
    # Counted over the shortlisted candidate pairs (each mentee's best), not over every pair.
    blocking_pairs: int
    greedy_matched: int
    greedy_objective: float
    fairness: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        record = asdict(self)
        record.pop("pairs")
        record.pop("unmatched")
        return record


def unmatched_entries(
    cohort: Cohort,
    matched: np.ndarray[tuple[int], np.dtype[np.bool_]],
    eligible_mentors: IntArray,
    mentor_ids: list[str],
    previous: list[tuple[str, str]],
) -> list[UnmatchedMentee]:
    """Each unmatched mentee with the rule that kept them unmatched, in a sentence. One who had
    eligible mentors lost them to the optimum (a place for them would unmatch someone or lower
    the total); one who had none is told which rule kept the mentors away."""
    kept_out = mentor_rules(cohort, mentor_ids)
    previous_pairs = set(previous)
    unmatched = []
    for i in np.flatnonzero(~matched).tolist():
        eligible = int(eligible_mentors[i])
        rules = (
            Counter({Rule.TAKEN: eligible}) if eligible else rules_for(cohort, i, previous_pairs, kept_out)
        )
        unmatched.append(UnmatchedMentee(cohort.mentees[i].person_id, why_unmatched(rules)[1]))
    return unmatched


def input_digest(
    policy: MatchingPolicy,
    mentees: Iterable[MatchProfile],
    mentors: Iterable[MatchProfile],
    previous_pairs: Iterable[tuple[str, str]],
    group_floor: GroupFloor | None = None,
    goals: SemanticGoals | None = None,
) -> str:
    """The same inputs give the same digest, so an audited run can be reproduced and compared.
    A fairness floor is an input too: its group (who consented and belongs) changes the result; so are
    the embeddings of the semantic goals component, when it is used."""
    floor = None
    if group_floor is not None:
        floor = asdict(group_floor) | {"member_ids": sorted(group_floor.member_ids)}
        floor.pop("time_limit_seconds")
    mentees, mentors = list(mentees), list(mentors)
    semantic = (
        {}
        if goals is None
        else {"goals": goals.fingerprint((p.person_id for p in mentees), (p.person_id for p in mentors))}
    )
    canonical = json.dumps(
        {
            **semantic,
            "group_floor": floor,
            "policy": asdict(policy),
            "mentees": [asdict(p) | {"skill_levels": dict(p.skill_levels)} for p in mentees],
            "mentors": [asdict(p) | {"skill_levels": dict(p.skill_levels)} for p in mentors],
            "previous_pairs": sorted(previous_pairs),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def row_oracle(cohort: Cohort, tables: ContributionTables | None = None) -> RowOracle:
    tables = tables or contribution_tables(cohort)

    def oracle(rows: IntArray, cols: IntArray | None) -> tuple[ScoreArray, BoolArray]:
        return block_scores(cohort, tables, rows, cols), allowed_block(cohort, rows, cols)

    return oracle


def capacities_of(cohort: Cohort) -> Capacities:
    return Capacities(
        capacity=cohort.capacity,
        existing_load=cohort.existing_load,
        spread_penalty=round(cohort.policy.load_spread_penalty * MICRO),
    )


@dataclass(frozen=True)
class SolvedCohort:
    """A cohort's optimum: who is paired with whom, why, and the proof it is optimal."""

    cohort: Cohort
    candidates: Shortlist
    capacities: Capacities
    solution: Assignment
    optimal: bool
    optimality: str
    fairness: dict[str, float]
    pairs: list[Explanation]


def solve_cohort(
    policy: MatchingPolicy,
    mentees: list[MatchProfile],
    mentors: list[MatchProfile],
    *,
    managers: Mapping[str, str] | None = None,
    previous_pairs: Iterable[tuple[str, str]] = (),
    shortlist_size: int = 12,
    reserve_size: int = 36,
    group_floor: GroupFloor | None = None,
    goals: SemanticGoals | None = None,
    shortlist_workers: int = 2,
) -> SolvedCohort:
    """The certified optimum and its explained pairs, without the audit a stored run keeps (input
    digest, greedy baseline, blocking pairs, reasons for the unmatched): what continuous matching,
    which stores no run, needs. Mentees already paired in the program should not be passed
    (minimal disruption: their pairs stay, and their mentors' `program_load` counts them). With
    `goals`, the goals component is semantic for the people who have embeddings. The shortlist is
    scored on `shortlist_workers` threads."""
    cohort = encode_cohort(policy, mentees, mentors, managers=managers, previous_pairs=list(previous_pairs))
    if goals is not None:
        cohort = goals.applied_to(cohort)
    tables = contribution_tables(cohort)
    oracle = row_oracle(cohort, tables)
    capacities = capacities_of(cohort)
    candidates = shortlist(
        oracle, cohort.mentee_count, cohort.mentor_count, shortlist_size, reserve=reserve_size,
        workers=shortlist_workers, first_slot=capacities.spread_penalty * capacities.existing_load,
    )  # fmt: skip
    fairness: dict[str, float] = {}
    solution: Assignment
    if group_floor is None:
        solution = solve_certified(oracle, cohort.mentee_count, capacities, candidates)
        optimal = solution.certificate.proven
        how = (
            f"min-cost flow on {solution.certificate.candidate_arcs} candidate arcs; all pruned arcs have "
            f"non-negative reduced cost ({solution.certificate.rounds} rounds, "
            f"{solution.certificate.arcs_added} arcs added back)"
        )
    else:
        members = np.asarray([m.person_id in group_floor.member_ids for m in cohort.mentees], dtype=bool)
        solution, optimal, how, fairness = solve_with_group_floor(
            cohort.mentee_count, capacities, candidates, members, group_floor
        )
    # Valued here, in the run that made them, for learning from how they go (use_cases/outcomes.py).
    reason = goals.reason() if goals else None
    pairs = explain_pairs(cohort, tables, solution.mentee, solution.mentor, reason, with_components=True)
    return SolvedCohort(cohort, candidates, capacities, solution, optimal, how, fairness, pairs)


def continuous_pairs(
    policy: MatchingPolicy,
    mentees: list[MatchProfile],
    mentors: list[MatchProfile],
    managers: Mapping[str, str],
    previous_pairs: Iterable[tuple[str, str]],
    goals: SemanticGoals | None,
) -> list[Explanation]:
    """`solve_cohort`'s explained pairs alone: what continuous matching offers (and all it needs
    back from the engine's process). Its shortlist is scored in one thread: these runs go on while
    the consumer's handlers, the other replicas and the store use the other cores, and a second
    thread bought no time there but cost CPU (matching's flood with two replicas on two cores, three
    alternated comparisons of 8-10 rounds with one thread: x1.014-x1.069 records/s, x0.936-x0.986
    CPU per record)."""
    return solve_cohort(
        policy, mentees, mentors, managers=managers, previous_pairs=previous_pairs, goals=goals,
        shortlist_workers=1,
    ).pairs  # fmt: skip


def run_cohort(
    policy: MatchingPolicy,
    mentees: list[MatchProfile],
    mentors: list[MatchProfile],
    *,
    managers: Mapping[str, str] | None = None,
    previous_pairs: Iterable[tuple[str, str]] = (),
    shortlist_size: int = 12,
    reserve_size: int = 36,
    group_floor: GroupFloor | None = None,
    goals: SemanticGoals | None = None,
) -> CohortRunResult:
    """Match a cohort (`solve_cohort`) and audit the result as a stored run keeps it."""
    previous = list(previous_pairs)
    solved = solve_cohort(
        policy, mentees, mentors, managers=managers, previous_pairs=previous, shortlist_size=shortlist_size,
        reserve_size=reserve_size, group_floor=group_floor, goals=goals,
    )  # fmt: skip
    cohort, candidates, capacities = solved.cohort, solved.candidates, solved.capacities
    solution = solved.solution
    baseline = greedy(cohort.mentee_count, capacities, candidates.mentee, candidates.mentor, candidates.score)
    matched = np.zeros(cohort.mentee_count, dtype=bool)
    matched[solution.mentee] = True
    unmatched = unmatched_entries(
        cohort, matched, candidates.eligible_mentors, [m.person_id for m in mentors], previous
    )
    # Mentees a per-person rule kept out of the run (not a mentor's exclusion of the same person).
    kept_out = {m.person_id for m in mentees} - {m.person_id for m in cohort.mentees}
    unmatched += [
        UnmatchedMentee(pid, why_unmatched(Counter({rule: 1}))[1])
        for pid, rule in cohort.excluded.items()
        if pid in kept_out
    ]
    return CohortRunResult(
        input_digest=input_digest(policy, mentees, mentors, previous, group_floor, goals),
        weights={name: policy.normalised_weight(name) for name in policy.weights},
        pairs=solved.pairs,
        unmatched=unmatched,
        matched=solution.matched,
        objective=solution.objective / MICRO,
        total_score=solution.total_score / MICRO,
        optimal=solved.optimal,
        optimality=solved.optimality,
        blocking_pairs=blocking_pairs(
            solution, capacities, candidates.mentee, candidates.mentor, candidates.score
        ),
        greedy_matched=baseline.matched,
        greedy_objective=baseline.objective / MICRO,
        fairness=solved.fairness,
    )
