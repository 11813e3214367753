"""`make bench-matching`: cohort runs on synthetic but realistic cohorts, end to end.

Cohorts: skills from a taxonomy with skewed (Zipf) popularity and stated proficiencies, levels,
departments, timezones, languages, modalities, goals and experience texts, managers (some mentors
manage some mentees: those pairs are forbidden), mentor capacities 1 to 5. For each size the
figures are: scoring time (hard rules + scores + shortlist), solve time (min-cost flow + the
optimality certificate over every allowed pair), matched count and objective; the greedy baseline
on the same shortlist; and, where the capacity-expanded matrix is small enough for it,
`scipy.optimize.linear_sum_assignment`'s optimum over ALL allowed pairs, solved in the same run.

Objective = total score minus the load-spread penalty; matched count comes first (lexicographic),
for the solver, the greedy baseline and the reference alike. Override sizes with
`BENCH_MATCHING_SIZES=1000x300,5000x1000`. Then the quality section (benchmarks/matching_quality.py):
held-out AUC of default, learned and hidden-rule weights, semantic vs TF-IDF goals, embedding time
and model memory; then a continuous run of 10 waiting mentees against 2,000 mentors (what the service
runs many times a second while people register). The last line printed is one JSON object:
{"cases": [...], "continuous": {...}, "quality": {...}}.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from typing import Any

import numpy as np
from matching.domain.assignment import MICRO, greedy, lexicographic_weight, shortlist, solve_certified
from matching.domain.cohort import MatchProfile, encode_cohort
from matching.domain.cohort_run import capacities_of, continuous_pairs, row_oracle
from matching.domain.programs import MatchingPolicy
from matching.domain.semantic_goals import SemanticGoals
from matching.embeddings import DIMENSIONS
from matching_quality import quality, semantic_engine_case, stand_in_profiles
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

SIZES = [(1_000, 300), (5_000, 1_000), (20_000, 5_000), (50_000, 10_000)]
SHORTLIST = 12
# Next-best arcs per mentee kept in memory for the optimality certificate (not in the flow).
RESERVE = 36
# linear_sum_assignment is cubic: beyond this many matrix cells it would take far longer than the run.
REFERENCE_MAX_CELLS = 20_000_000
ORG = "org-bench"
LEVELS = ["junior", "mid", "senior", "lead", "principal", "executive"]
STYLES = ["direct", "reflective", "structured", "informal"]
OFFSETS = [-480, -300, -240, 0, 60, 120, 330, 480, 540]
OFFSET_WEIGHTS = [8, 10, 6, 10, 25, 8, 15, 5, 3]
LANGUAGES = ["de", "fr", "es", "hi", "ja", "pt", "zh", "it"]
MODALITIES = ["remote", "in_person", "hybrid"]
PROFICIENCIES = ["beginner", "intermediate", "advanced", "expert"]


def zipf_weights(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def synthetic_cohort(
    mentee_count: int, mentor_count: int, seed: int
) -> tuple[list[MatchProfile], list[MatchProfile]]:
    rng = random.Random(seed)
    skills = [f"skill-{k:03d}" for k in range(150)]
    skill_weights = zipf_weights(len(skills), 1.1)
    words = [f"word{k:03d}" for k in range(400)]
    word_weights = zipf_weights(len(words), 1.0)
    departments = [f"dept-{k:02d}" for k in range(20)]
    department_weights = zipf_weights(len(departments), 0.8)

    def common(person_id: str, level_weights: list[int]) -> dict[str, Any]:
        languages: tuple[str, ...] = ("en",) if rng.random() < 0.92 else ()
        if rng.random() < 0.25 or not languages:
            languages += (rng.choice(LANGUAGES),)
        return {
            "person_id": person_id,
            "org_id": ORG,
            "department": rng.choices(departments, department_weights)[0],
            "level": rng.choices(LEVELS, level_weights)[0],
            "languages": languages,
            "utc_offset_minutes": rng.choices(OFFSETS, OFFSET_WEIGHTS)[0],
            "communication_style": rng.choice([*STYLES, None]),
            "modalities": tuple(m for m in MODALITIES if rng.random() < 0.5),
            "personality": tuple(rng.randint(1, 5) for _ in range(5)) if rng.random() < 0.7 else (),
        }

    mentors = []
    for j in range(mentor_count):
        offered = sorted(set(rng.choices(skills, skill_weights, k=rng.randint(3, 8))))
        mentors.append(
            MatchProfile(
                **common(f"mentor-{j}", [1, 3, 6, 5, 3, 1]),
                skills_offered=tuple(offered),
                skill_levels={s: rng.choices(PROFICIENCIES, [1, 3, 4, 2])[0] for s in offered},
                experience=" ".join(rng.choices(words, word_weights, k=rng.randint(10, 20))),
                free_capacity=rng.randint(1, 5),
            )
        )
    mentees = []
    for i in range(mentee_count):
        # About one mentee in ten reports to a mentor of the run: that pair is forbidden.
        manager = f"mentor-{rng.randrange(mentor_count)}" if rng.random() < 0.1 else None
        mentees.append(
            MatchProfile(
                **common(f"mentee-{i}", [6, 5, 3, 1, 0, 0]),
                manager_id=manager,
                skills_wanted=tuple(sorted(set(rng.choices(skills, skill_weights, k=rng.randint(1, 4))))),
                goals=" ".join(rng.choices(words, word_weights, k=rng.randint(6, 12))),
            )
        )
    return mentees, mentors


def reference_optimum(
    scores: np.ndarray[Any, Any], allowed: np.ndarray[Any, Any], capacities: Any
) -> tuple[int, int]:
    """(matched, objective micro-points) from linear_sum_assignment on the capacity-expanded matrix:
    one column per mentor slot, lexicographic weight so that matched count comes first."""
    scores = scores.astype(np.int64)
    slot_mentor, slot_penalty = capacities.slot_costs()
    weight = lexicographic_weight(scores.shape[0], capacities)
    matrix = np.where(
        allowed[:, slot_mentor], weight + scores[:, slot_mentor] - slot_penalty[None, :], 0
    ).astype(np.float64)
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    real = allowed[rows, slot_mentor[cols]]
    rows, cols = rows[real], cols[real]
    return len(rows), int(scores[rows, slot_mentor[cols]].sum() - slot_penalty[cols].sum())


def run_case(mentee_count: int, mentor_count: int) -> dict[str, Any]:
    mentees, mentors = synthetic_cohort(mentee_count, mentor_count, seed=mentee_count + mentor_count)
    policy = MatchingPolicy(org_id=ORG)
    started = time.perf_counter()
    cohort = encode_cohort(policy, mentees, mentors)
    oracle = row_oracle(cohort)
    capacities = capacities_of(cohort)
    candidates = shortlist(oracle, cohort.mentee_count, cohort.mentor_count, SHORTLIST, reserve=RESERVE)
    scored = time.perf_counter()
    solution = solve_certified(oracle, cohort.mentee_count, capacities, candidates)
    solved = time.perf_counter()
    baseline = greedy(cohort.mentee_count, capacities, candidates.mentee, candidates.mentor, candidates.score)
    cells = cohort.mentee_count * int(capacities.capacity.sum())
    reference: tuple[int, int] | None = None
    reference_seconds = None
    if cells <= REFERENCE_MAX_CELLS:
        begin = time.perf_counter()
        scores, allowed = oracle(np.arange(cohort.mentee_count), None)
        reference = reference_optimum(scores, allowed, capacities)
        reference_seconds = time.perf_counter() - begin
    certificate = solution.certificate
    print(
        f"{mentee_count:>6} x {mentor_count:<6} scoring {scored - started:6.2f}s  solve+proof "
        f"{solved - scored:6.2f}s  total {solved - started:6.2f}s  matched {solution.matched:>6}  "
        f"objective {solution.objective / MICRO:12.6f}  proven {certificate.proven} "
        f"(rounds {certificate.rounds}, arcs {certificate.candidate_arcs}, added {certificate.arcs_added}, "
        f"rows rescored {certificate.rows_rescored})"
    )
    print(
        f"{'':15} greedy matched {baseline.matched:>6} objective {baseline.objective / MICRO:12.6f}   "
        + (
            f"reference matched {reference[0]:>6} objective {reference[1] / MICRO:12.6f} "
            f"({reference_seconds:.1f}s)"
            if reference
            else f"reference skipped ({cells:,} cells > {REFERENCE_MAX_CELLS:,})"
        ),
        flush=True,
    )
    if reference is not None:
        assert reference[0] == solution.matched, "matched count differs from the reference"
    return {
        "mentees": mentee_count,
        "mentors": mentor_count,
        "seconds": round(solved - started, 3),
        "scoring_seconds": round(scored - started, 3),
        "solve_seconds": round(solved - scored, 3),
        "objective": solution.objective / MICRO,
        "reference_objective": None if reference is None else reference[1] / MICRO,
        "greedy_objective": baseline.objective / MICRO,
        "matched": solution.matched,
        "reference_matched": None if reference is None else reference[0],
        "greedy_matched": baseline.matched,
        "optimal": certificate.proven
        and (reference is None or abs(reference[1] - solution.objective) / MICRO <= 1e-6),
    }


def continuous_case(waiting: int = 10, mentor_count: int = 2_000, runs: int = 20) -> dict[str, Any]:
    """What continuous matching does many times a second while people register: a run of a few
    waiting mentees against every mentor of the org, everyone embedded (`continuous_pairs`, the work
    the service sends to its engine), timed as the median of `runs` runs on the same inputs."""
    mentees, mentors = synthetic_cohort(waiting, mentor_count, seed=waiting + mentor_count)
    profiles = stand_in_profiles(mentees + mentors)
    goals = SemanticGoals(profiles, profiles, DIMENSIONS)
    policy = MatchingPolicy(org_id=ORG)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        pairs = continuous_pairs(policy, mentees, mentors, {}, [], goals)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(
        f"continuous run: {waiting} waiting x {mentor_count} mentors, semantic goals: "
        f"{median * 1000:.1f} ms per run (median of {runs}), {len(pairs)} pairs",
        flush=True,
    )
    return {"waiting": waiting, "mentors": mentor_count, "ms_per_run": round(median * 1000, 1)}


def main() -> None:
    sizes = SIZES
    if os.environ.get("BENCH_MATCHING_SIZES"):
        sizes = [
            (int(a), int(b)) for a, b in (s.split("x") for s in os.environ["BENCH_MATCHING_SIZES"].split(","))
        ]
    cases = [run_case(mentees, mentors) for mentees, mentors in sizes]
    figures = quality()
    # The engine with the semantic goals component, on the same cohort as the second case (or the first).
    mentees, mentors = sizes[min(1, len(sizes) - 1)]
    cohort = synthetic_cohort(mentees, mentors, seed=mentees + mentors)
    figures["semantic_engine_case"] = semantic_engine_case(*cohort)
    # Half the people embedded (a profile not re-embedded yet): semantic where both are, TF-IDF elsewhere.
    figures["semantic_engine_case_half_embedded"] = semantic_engine_case(*cohort, embedded_share=0.5)
    continuous = continuous_case()
    print(json.dumps({"cases": cases, "continuous": continuous, "quality": figures}))


if __name__ == "__main__":
    main()
