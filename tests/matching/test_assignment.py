"""The assignment solver: exact optimum (matched first, then score minus load-spread penalty) over
every allowed pair, even when candidates are pruned, checked against brute force."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.domain import assignment
from matching.domain.assignment import (
    MICRO,
    Capacities,
    RowOracle,
    blocking_pairs,
    greedy,
    shortlist,
    solve_certified,
    solve_flow,
)
from matching.domain.cohort import MatchProfile
from matching.domain.cohort_run import continuous_pairs, solve_cohort
from matching.domain.programs import MatchingPolicy

pytestmark = pytest.mark.fast  # the engine alone: no server


def oracle_of(scores: np.ndarray, allowed: np.ndarray) -> RowOracle:
    def oracle(rows: np.ndarray, cols: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if cols is None:
            return scores[rows], allowed[rows]
        return scores[rows][:, cols], allowed[rows][:, cols]

    return oracle


def brute_force(scores: np.ndarray, allowed: np.ndarray, capacities: Capacities) -> tuple[int, int]:
    """Best (matched, objective) over every assignment, by enumeration."""
    mentee_count, mentor_count = scores.shape
    best = (0, 0)
    for choice in itertools.product(range(-1, mentor_count), repeat=mentee_count):
        load = np.zeros(mentor_count, dtype=np.int64)
        total = 0
        feasible = True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            if not allowed[i, j]:
                feasible = False
                break
            load[j] += 1
            total += int(scores[i, j])
        if not feasible or (load > capacities.capacity).any():
            continue
        value = (int((np.asarray(choice) >= 0).sum()), total - capacities.penalty(load))
        best = max(best, value)
    return best


@st.composite
def instances(draw: st.DrawFn, max_mentees: int = 6, max_mentors: int = 3) -> tuple:
    mentees = draw(st.integers(1, max_mentees))
    mentors = draw(st.integers(1, max_mentors))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Coarse scores make ties common: ties are where pruning and certificates go wrong.
    scores = rng.integers(0, 5, (mentees, mentors)) * (MICRO // 4)
    allowed = rng.random((mentees, mentors)) < draw(st.floats(0.3, 1.0))
    capacities = Capacities(
        capacity=rng.integers(1, 4, mentors).astype(np.int64),
        existing_load=rng.integers(0, 3, mentors).astype(np.int64),
        spread_penalty=int(draw(st.sampled_from([0, 1000, 10_000, 300_000]))),
    )
    per_mentee = draw(st.integers(1, 3))
    per_mentor = draw(st.integers(0, 2))
    return scores, allowed, capacities, per_mentee, per_mentor


@settings(max_examples=300, deadline=None)
@given(instances(), st.booleans(), st.sampled_from([1, 2, 16]))
def test_pruned_and_certified_solution_equals_brute_force_optimum(
    instance: tuple, by_slot: bool, per_row: int
) -> None:
    scores, allowed, capacities, per_mentee, per_mentor = instance
    oracle = oracle_of(scores, allowed)
    first_slot = capacities.spread_penalty * capacities.existing_load if by_slot else None
    candidates = shortlist(
        oracle, scores.shape[0], scores.shape[1], per_mentee, per_mentor, block=2, first_slot=first_slot
    )
    solution = solve_certified(oracle, scores.shape[0], capacities, candidates, block=3, per_row=per_row)
    assert solution.certificate.proven
    assert (solution.matched, solution.objective) == brute_force(scores, allowed, capacities)


@settings(max_examples=200, deadline=None)
@given(instances())
def test_solution_respects_capacities_and_hard_rules(instance: tuple) -> None:
    scores, allowed, capacities, per_mentee, per_mentor = instance
    oracle = oracle_of(scores, allowed)
    candidates = shortlist(oracle, scores.shape[0], scores.shape[1], per_mentee, per_mentor)
    solution = solve_certified(oracle, scores.shape[0], capacities, candidates)
    assert allowed[solution.mentee, solution.mentor].all()
    assert len(set(solution.mentee.tolist())) == solution.matched
    assert (solution.mentor_load(scores.shape[1]) <= capacities.capacity).all()
    assert (scores[solution.mentee, solution.mentor] == solution.score).all()


@settings(max_examples=200, deadline=None)
@given(instances())
def test_greedy_baseline_never_beats_the_optimum(instance: tuple) -> None:
    scores, allowed, capacities, _, _ = instance
    mentees, mentors = np.nonzero(allowed)
    optimum = solve_flow(scores.shape[0], capacities, mentees, mentors, scores[mentees, mentors])
    baseline = greedy(scores.shape[0], capacities, mentees, mentors, scores[mentees, mentors])
    assert (baseline.matched, baseline.objective) <= (optimum.matched, optimum.objective)


def test_larger_random_instances_match_linear_sum_assignment_reference() -> None:
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(7)
    for _ in range(5):
        scores = rng.integers(0, MICRO, (120, 30))
        allowed = rng.random((120, 30)) < 0.7
        capacities = Capacities(rng.integers(1, 5, 30), rng.integers(0, 2, 30), 5_000)
        oracle = oracle_of(scores, allowed)
        solution = solve_certified(oracle, 120, capacities, shortlist(oracle, 120, 30, 3, 2))
        slot_mentor, slot_penalty = capacities.slot_costs()
        weight = 10 * 121 * MICRO
        matrix = np.where(allowed[:, slot_mentor], weight + scores[:, slot_mentor] - slot_penalty, 0)
        rows, cols = linear_sum_assignment(matrix.astype(float), maximize=True)
        real = allowed[rows, slot_mentor[cols]]
        reference = int(scores[rows[real], slot_mentor[cols[real]]].sum() - slot_penalty[cols[real]].sum())
        assert solution.certificate.proven
        assert (solution.matched, solution.objective) == (int(real.sum()), reference)


def test_a_cohort_of_alike_people_is_proven_in_one_round_without_adding_or_rescoring_arcs() -> None:
    # 300 mentees who score 2,000 mentors alike (some already loaded): the shortlist spreads them
    # over the least loaded mentors, so nothing pruned can improve the flow. The certificate added
    # back every tied arc (600,000) when it counted arcs merely near the limit as violations.
    mentees, mentors = 300, 2000
    scores = np.full((mentees, mentors), MICRO // 2, dtype=np.int64)
    allowed = np.ones((mentees, mentors), dtype=bool)
    rng = np.random.default_rng(3)
    capacities = Capacities(np.full(mentors, 2), rng.integers(0, 2, mentors).astype(np.int64), 10_000)
    oracle = oracle_of(scores, allowed)
    first_slot = capacities.spread_penalty * capacities.existing_load
    candidates = shortlist(oracle, mentees, mentors, 12, reserve=36, first_slot=first_slot)
    solution = solve_certified(oracle, mentees, capacities, candidates)
    assert solution.certificate.proven
    assert (solution.certificate.rounds, solution.certificate.arcs_added) == (1, 0)
    # The bounds prove it: no row is scored again (every row was, for arcs within the margin).
    assert solution.certificate.rows_rescored == 0
    assert solution.matched == mentees
    # The optimum: every mentee on a mentor with nobody yet (there are enough of them).
    assert (capacities.existing_load[solution.mentor] == 0).all()
    assert (solution.mentor_load(mentors) <= 1).all()


def test_alike_people_over_mentors_of_two_loads_are_proven_with_few_arcs_added() -> None:
    # Continuous matching late in a cohort of alike people: 99 mentees, 100 mentors with nobody
    # yet and 1,900 with one mentee. Arcs to the loaded mentors are all within the margin of
    # improving: the certificate added every one of them (about 200,000) before it took only the
    # best few per mentee and round.
    mentees, mentors, free = 99, 2000, 100
    scores = np.full((mentees, mentors), MICRO // 2, dtype=np.int64)
    allowed = np.ones((mentees, mentors), dtype=bool)
    load = np.ones(mentors, dtype=np.int64)
    load[np.random.default_rng(5).choice(mentors, free, replace=False)] = 0
    capacities = Capacities(2 - load, load, 10_000)
    oracle = oracle_of(scores, allowed)
    candidates = shortlist(oracle, mentees, mentors, 12, reserve=36, first_slot=10_000 * load)
    solution = solve_certified(oracle, mentees, capacities, candidates)
    assert solution.certificate.proven
    assert solution.certificate.arcs_added < mentees * mentors // 20
    assert solution.matched == mentees
    assert (load[solution.mentor] == 0).all()  # each on a mentor with nobody yet


def test_alike_mentees_over_a_block_of_free_mentors_are_proven_in_few_rounds() -> None:
    # A continuous run of 1,000 mentees who score 2,000 mentors alike; the first 1,000 mentors have
    # one mentee each, the last 1,000 nobody (as mentors joined and earlier runs filled them). In
    # the order given, every mentee whose tie-break started inside the loaded block shortlisted the
    # same first free mentors: the flow left hundreds of free mentors unused and the certificate
    # took 15 rounds (260,000 arcs added) to repair it (then 2, with the mentors shuffled first).
    # With each row's ties in a random order of its own, the order given does not matter.
    mentees = [
        MatchProfile(f"mentee-{i}", "org", skills_wanted=("python",), languages=("en",)) for i in range(1000)
    ]
    loaded = [1] * 1000 + [0] * 1000
    mentors = [
        MatchProfile(
            f"mentor-{j}", "org", skills_offered=("python",), languages=("en",),
            free_capacity=2 - load, program_load=load,
        )
        for j, load in enumerate(loaded)
    ]  # fmt: skip
    solved = solve_cohort(MatchingPolicy(org_id="org"), mentees, mentors)
    certificate = solved.solution.certificate
    assert certificate.proven
    assert (certificate.rounds, certificate.arcs_added) == (1, 0)
    assert len(solved.pairs) == 1000
    paired_with = Counter(pair.mentor_id for pair in solved.pairs)
    # Each on a mentor with nobody yet, one each (there are enough of them).
    assert all(int(mentor.split("-")[1]) >= 1000 for mentor in paired_with)
    assert max(paired_with.values()) == 1


@pytest.mark.parametrize(("mentees", "mentors", "seed"), [(600, 900, 3), (800, 1200, 5), (1300, 2000, 7)])
def test_alike_mentees_as_many_as_the_mentors_with_nobody_are_proven_without_adding_arcs(
    mentees: int, mentors: int, seed: int
) -> None:
    # Continuous matching in a flood of alike people: about as many mentees wait as there are
    # mentors with nobody yet (a third of the mentors have one mentee). The optimum needs nearly
    # every mentor with nobody; when each row's tie-break was the columns down from a start of its
    # own (rows sharing starts where the stride and the count had a factor in common), the flow
    # left some of them unused, and the certificate rescored every row and added 31,000-68,000
    # arcs in a second round to repair it.
    load = (np.random.default_rng(seed).random(mentors) < 1 / 3).astype(np.int64)
    capacities = Capacities(2 - load, load, 10_000)
    oracle = oracle_of(
        np.full((mentees, mentors), MICRO // 2, dtype=np.int64), np.ones((mentees, mentors), dtype=bool)
    )
    candidates = shortlist(oracle, mentees, mentors, 12, reserve=36, first_slot=10_000 * load)
    solution = solve_certified(oracle, mentees, capacities, candidates)
    certificate = solution.certificate
    assert certificate.proven
    assert (certificate.rounds, certificate.arcs_added, certificate.rows_rescored) == (1, 0, 0)
    assert solution.matched == mentees
    # Every mentor with nobody takes one before anyone takes a second place.
    unloaded = int((load == 0).sum())
    assert int((load[solution.mentor] == 0).sum()) >= min(mentees, unloaded)


def test_matching_more_mentees_beats_a_higher_total_score() -> None:
    # Mentee 0 fits both mentors; mentee 1 only mentor 0. Max score alone would pair 0 with 0.
    scores = np.asarray([[MICRO, MICRO // 2], [MICRO // 10, 0]])
    allowed = np.asarray([[True, True], [True, False]])
    capacities = Capacities(np.asarray([1, 1]), np.asarray([0, 0]), 0)
    oracle = oracle_of(scores, allowed)
    solution = solve_certified(oracle, 2, capacities, shortlist(oracle, 2, 2, 1, 0))
    assert solution.matched == 2
    assert sorted(zip(solution.mentee.tolist(), solution.mentor.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_load_spread_gives_equal_matches_to_the_less_loaded_mentor() -> None:
    scores = np.full((2, 2), MICRO // 2)
    allowed = np.ones((2, 2), dtype=bool)
    capacities = Capacities(np.asarray([2, 2]), np.asarray([3, 0]), 10_000)
    oracle = oracle_of(scores, allowed)
    solution = solve_certified(oracle, 2, capacities, shortlist(oracle, 2, 2, 2))
    assert solution.mentor_load(2).tolist() == [0, 2]


def test_blocking_pairs_are_counted_when_matching_more_mentees_costs_stability() -> None:
    # Mentee 1 can only have mentor 0; matching both leaves mentee 0 with its second choice while
    # mentor 0 holds a mentee it scores lower: one blocking pair, reported rather than hidden.
    capacities = Capacities(np.asarray([1, 1]), np.asarray([0, 0]), 0)
    arcs = (np.asarray([0, 0, 1]), np.asarray([0, 1, 0]), np.asarray([900_000, 200_000, 100_000]))
    both = solve_flow(2, capacities, *arcs)
    assert both.matched == 2
    assert blocking_pairs(both, capacities, *arcs) == 1
    # With another place for mentee 1, the optimum is stable.
    arcs = (np.asarray([0, 0, 1, 1]), np.asarray([0, 1, 0, 1]), np.asarray([900_000, 200_000, 100_000, 0]))
    stable = solve_flow(2, capacities, *arcs)
    assert stable.total_score == 900_000
    assert blocking_pairs(stable, capacities, *arcs) == 0


def test_a_shortlist_scored_in_the_callers_thread_is_the_one_scored_on_threads() -> None:
    # Blocks of 64 rows: 1,000 mentees are 16 blocks, scored in order by one thread or shared by two.
    rng = np.random.default_rng(11)
    scores = rng.integers(0, MICRO, size=(1000, 250)).astype(np.int64)
    allowed = rng.random((1000, 250)) < 0.9
    oracle = oracle_of(scores, allowed)
    first_slot = 10_000 * rng.integers(0, 2, 250).astype(np.int64)
    kept = [
        shortlist(oracle, 1000, 250, 12, block=64, reserve=36, workers=workers, first_slot=first_slot)
        for workers in (1, 2)
    ]
    one, two = (dataclasses.asdict(candidates) for candidates in kept)
    assert one.keys() == two.keys()
    for name in one:
        assert np.array_equal(one[name], two[name]), name


def test_continuous_runs_score_their_shortlist_without_a_thread_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    mentees = [MatchProfile(f"mentee-{i}", "org", skills_wanted=("python",)) for i in range(40)]
    mentors = [
        MatchProfile(f"mentor-{j}", "org", skills_offered=("python", "sql")[: 1 + j % 2], free_capacity=2)
        for j in range(30)
    ]
    policy = MatchingPolicy(org_id="org")
    on_threads = solve_cohort(policy, mentees, mentors).pairs

    class NoPool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("a thread pool")

    monkeypatch.setattr(assignment, "ThreadPoolExecutor", NoPool)
    with pytest.raises(AssertionError, match="a thread pool"):
        solve_cohort(policy, mentees, mentors)  # a cohort run's default: two threads
    assert continuous_pairs(policy, mentees, mentors, {}, [], None) == on_threads
