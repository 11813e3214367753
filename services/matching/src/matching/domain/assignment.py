"""Optimal capacitated assignment of mentees to mentors, with a certificate of optimality.

Objective, lexicographic: first the number of mentees matched, then the total score minus a convex
load-spread penalty (the t-th mentee on a mentor's list costs `spread * (existing + t)`), so equal
matches go to less loaded mentors. It is a min-cost flow (source -> mentee -> mentor -> sink, one
arc per mentor slot), solved exactly by OR-Tools on a shortlist of candidates per mentee.

Pruning would lose optimality silently, so every solution is certified against the FULL candidate
set: node potentials are computed from the residual graph (Bellman-Ford, big-M costs for the
lexicographic objective), every residual arc is checked to have non-negative reduced cost (the
shortlist solution is optimal), and every pruned arc is checked the same way (first by a cheap
bound per mentee, then exactly on the rows that fail it). Pruned arcs that could improve are added
and the flow re-solved, until none is left.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]

MICRO = 1_000_000
# A shortlist block's rows are as many as keep its arrays (rows x mentors, int64) within this many
# elements, 4 MB. A block's arrays are allocated afresh for every block: large ones
# are mapped from the OS each time (above glibc's mmap threshold, 32 MB at most) and their pages
# faulted in and zeroed again, and the more a run holds at once, the more fresh memory its process
# must first be given (on this VM, faults on memory never touched before cost tens of microseconds
# each). Replaying a flood's runs (1,500 then 4,646 mentees x 5,000 mentors) in a fresh engine
# process: blocks of 419 rows (16 MB arrays) took 2.8-3.3 s for the first run (1.8-2.3 s of it in
# the kernel), of 104 rows (4 MB) 1.1-1.6 s (0.1-0.5 s); the later runs alike; peak 385 against
# 471 MB.
_BLOCK_ELEMENTS = 1 << 19
_MIN_BLOCK_ROWS = 64
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
# For a block of mentee rows and mentor columns (None: every mentor): their scores (micro-points)
# and whether the hard rules allow each pair.
ScoreArray = npt.NDArray[np.integer[Any]]
RowOracle = Callable[[IntArray, IntArray | None], tuple[ScoreArray, BoolArray]]


@dataclass
class Shortlist:
    """Candidate arcs kept per mentee, and what the pruning left out (for the certificate)."""

    mentee: IntArray
    mentor: IntArray
    score: IntArray
    # Best score of an allowed mentor left out of shortlist and reserve; -1 when none was left out.
    best_pruned: IntArray
    eligible_mentors: IntArray
    # The next best arcs after the shortlist, kept in memory: the certificate checks them exactly
    # without rescoring, which makes the bound on everything else (best_pruned) much tighter.
    reserve_mentee: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reserve_mentor: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reserve_score: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Best allowed score each mentor has with anyone (bounds the pruned arcs column-wise); None: unknown.
    mentor_best: IntArray | None = None


@dataclass
class Capacities:
    """What the mentors can take in this run."""

    capacity: IntArray
    existing_load: IntArray
    spread_penalty: int  # micro-points per mentee already on a mentor's list

    def slot_costs(self) -> tuple[IntArray, IntArray]:
        """(mentor, penalty) of every slot, in slot order per mentor."""
        mentors = np.repeat(np.arange(len(self.capacity)), self.capacity)
        first = np.cumsum(self.capacity) - self.capacity
        position = np.arange(len(mentors)) - np.repeat(first, self.capacity)
        return mentors, self.spread_penalty * (self.existing_load[mentors] + position)

    def penalty(self, load: IntArray) -> int:
        base = self.existing_load
        return int(self.spread_penalty * (load * base + load * (load - 1) // 2).sum())


@dataclass
class Certificate:
    """How optimality over the full candidate set was proven."""

    proven: bool
    rounds: int
    arcs_added: int
    rows_rescored: int
    candidate_arcs: int


@dataclass
class Assignment:
    mentee: IntArray  # matched pairs, parallel arrays
    mentor: IntArray
    score: IntArray
    matched: int
    total_score: int  # micro-points
    objective: int  # micro-points: total score minus the load-spread penalty
    certificate: Certificate = field(default_factory=lambda: Certificate(False, 0, 0, 0, 0))

    def mentor_load(self, mentor_count: int) -> IntArray:
        return np.bincount(self.mentor, minlength=mentor_count).astype(np.int64)


@dataclass
class _BlockShortlist:
    rows: IntArray
    flow: tuple[IntArray, IntArray, IntArray]
    reserve: tuple[IntArray, IntArray, IntArray]
    best_pruned: IntArray
    eligible: IntArray
    mentor_best: IntArray
    column_best: IntArray
    column_rows: IntArray


def _shortlist_block(
    oracle: RowOracle, rows: IntArray, mentor_count: int, per_mentee: int, keep: int, first_slot: IntArray
) -> _BlockShortlist:
    score, allowed = oracle(rows, None)
    masked = np.where(allowed, score, -1)
    rank = _rank(masked, allowed, rows, first_slot)
    best_pruned = np.full(len(rows), -1, dtype=np.int64)
    if keep < mentor_count:
        top = np.argpartition(rank, mentor_count - keep, axis=1)[:, mentor_count - keep :]
        # The best raw score left out bounds every pruned arc (the rank is not the raw order).
        left_out = masked.copy()
        np.put_along_axis(left_out, top, -1, 1)
        best_pruned = left_out.max(axis=1)
    else:
        top = np.broadcast_to(np.arange(mentor_count), (len(rows), mentor_count))
    # Best first within the kept columns: the first `per_mentee` go to the flow, the rest wait.
    order = np.argsort(-np.take_along_axis(rank, top, 1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, 1)
    values = np.take_along_axis(masked, top, 1)
    row_grid = np.broadcast_to(rows[:, None], top.shape)
    ok = values >= 0
    ok_flow = ok.copy()
    ok_flow[:, per_mentee:] = False
    ok[:, :per_mentee] = False
    # Each mentor's best mentee of this block (a column reduction, cheap).
    block_best = rank.argmax(axis=0)
    return _BlockShortlist(
        rows=rows,
        flow=(row_grid[ok_flow], top[ok_flow], values[ok_flow].astype(np.int64)),
        reserve=(row_grid[ok], top[ok], values[ok].astype(np.int64)),
        best_pruned=best_pruned.astype(np.int64),
        eligible=allowed.sum(axis=1),
        mentor_best=masked.max(axis=0).astype(np.int64),
        column_best=masked[block_best, np.arange(mentor_count)].astype(np.int64),
        column_rows=rows[block_best],
    )


def _rank(masked: ScoreArray, allowed: BoolArray, rows: IntArray, first_slot: IntArray) -> IntArray:
    """Which arcs a shortlist keeps first: the score less what the mentor's next place costs (the
    flow's own trade-off); among equal ones, each row in an order of its own (`_tie_break`), so
    that mentees who score many mentors alike (a cohort of similar people) are not all shortlisted
    to the same few mentors: the flow has room to spread them, and the certificate little to add
    back (it added every tied arc). Not allowed: the lowest rank."""
    mentor_count = masked.shape[1]
    rank = np.multiply(masked, mentor_count, dtype=np.int64)
    rank -= first_slot[None, :] * mentor_count
    rank += _tie_break(rows, mentor_count)
    np.copyto(rank, np.iinfo(np.int64).min, where=~allowed)
    return rank


# Rows beyond the first `mentor_count` take the next of this many random orders (`_tie_break`).
_TIE_ORDERS = 4


@functools.lru_cache(maxsize=16)
def _tie_orders(mentor_count: int) -> tuple[IntArray, IntArray]:
    """`_TIE_ORDERS` random orders of the mentors (the same for the same count: a run stays
    reproducible), and the windows of each repeated twice, from which a row's tie-break is one
    window: a copy, with no division per element.

    Two replicas' runs over as many mentors thus break ties alike. Orders of each process's own
    (a random seed per process) did not make them lose fewer races for the same places: in 6
    alternated rounds of matching's flood with two replicas, 256-1,384 places lost per flood
    against 167-1,940, and x0.961 records/s."""
    rng = np.random.default_rng([mentor_count, _TIE_ORDERS])
    orders = np.stack([rng.permutation(mentor_count) for _ in range(_TIE_ORDERS)]).astype(np.int64)
    orders.setflags(write=False)  # shared by every run of this many mentors
    windows = np.lib.stride_tricks.sliding_window_view(np.tile(orders, 2).ravel(), mentor_count)
    return orders, windows


def _tie_break(rows: IntArray, mentor_count: int, cols: IntArray | None = None) -> IntArray:
    """Among equal arcs, row i prefers mentor j by `order[(i + j) mod mentor_count]` (highest
    first), `order` a random order of the mentors: each row prefers its own scattered set, as if
    drawn at random for it, and a row's next prefers another.

    It was `(i * stride - j) mod mentor_count`, each row the mentors down the columns from a start
    of its own. Mentees tied on the mentors with nobody yet shortlisted those that lay together in
    the columns less often than the lone ones (a run of them is fewer rows' starts than its share),
    and several rows shared a start when the stride and the count had a factor in common: the flow
    left free mentors unused, and the certificate rescored every row and added 50,000-100,000 arcs
    in a second round. 4 of the 32 runs of two floods with two replicas did (0.25-1.3 s each,
    against 0.2 s for a run of 2,000 mentees that needed one); none does now. Nor does the order of
    the mentors given matter any more (they were shuffled first, for the first flaw)."""
    orders, windows = _tie_orders(mentor_count)
    order = (rows // mentor_count) % _TIE_ORDERS
    start = rows % mentor_count
    tie: IntArray
    if cols is None:
        tie = windows[order * 2 * mentor_count + start]
    else:
        tie = orders[order[:, None], (start[:, None] + cols[None, :]) % mentor_count]
    return tie


def shortlist(
    oracle: RowOracle,
    mentee_count: int,
    mentor_count: int,
    per_mentee: int,
    per_mentor: int = 8,
    block: int = 1024,
    reserve: int = 0,
    workers: int = 2,
    first_slot: IntArray | None = None,
) -> Shortlist:
    """Each mentee's `per_mentee` best allowed mentors, plus each mentor's `per_mentor` best allowed
    mentees (so that a mentor nobody ranks first still has candidates), a block of rows at a time
    (at most `block`, fewer when the mentors are many: `_BLOCK_ELEMENTS`). "Best" counts
    `first_slot`, what each mentor's next place costs (the load-spread penalty), when given. Blocks
    are scored on `workers` threads (numpy and scipy release the GIL in the heavy parts); with one,
    in the caller's thread."""
    keep = min(per_mentee + reserve, mentor_count)
    slot_cost = np.zeros(mentor_count, dtype=np.int64) if first_slot is None else first_slot
    block = min(block, max(_MIN_BLOCK_ROWS, _BLOCK_ELEMENTS // max(1, mentor_count)))
    starts = range(0, mentee_count if mentor_count else 0, block)
    blocks = [np.arange(start, min(start + block, mentee_count)) for start in starts]

    def scored(rows: IntArray) -> _BlockShortlist:
        return _shortlist_block(oracle, rows, mentor_count, per_mentee, keep, slot_cost)

    if workers <= 1:
        parts = [scored(rows) for rows in blocks]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(scored, blocks))
    empty = np.zeros(0, dtype=np.int64)
    mentees = [empty] + [p.flow[0] for p in parts]
    mentors = [empty] + [p.flow[1] for p in parts]
    scores = [empty] + [p.flow[2] for p in parts]
    spare = [p.reserve for p in parts]
    best_pruned = np.full(mentee_count, -1, dtype=np.int64)
    eligible = np.zeros(mentee_count, dtype=np.int64)
    mentor_best = np.full(mentor_count, -1, dtype=np.int64)
    for part in parts:
        best_pruned[part.rows] = part.best_pruned
        eligible[part.rows] = part.eligible
        np.maximum(mentor_best, part.mentor_best, out=mentor_best)
    column_best = np.vstack([np.full((0, mentor_count), -1, dtype=np.int64)] + [p.column_best for p in parts])
    column_rows = np.vstack([np.zeros((0, mentor_count), dtype=np.int64)] + [p.column_rows for p in parts])
    # The best `per_mentor` of the mentors' per-block picks join the shortlist.
    if per_mentor <= 0:
        column_best = column_best[:0]
        column_rows = column_rows[:0]
    elif len(column_best) > per_mentor:
        order = np.argpartition(column_best, len(column_best) - per_mentor, axis=0)[-per_mentor:]
        column_best = np.take_along_axis(column_best, order, 0)
        column_rows = np.take_along_axis(column_rows, order, 0)
    ok = column_best >= 0
    mentees.append(column_rows[ok])
    mentors.append(np.broadcast_to(np.arange(mentor_count)[None, :], column_best.shape)[ok])
    scores.append(column_best[ok])
    mentee = np.concatenate(mentees).astype(np.int64)
    mentor = np.concatenate(mentors).astype(np.int64)
    score = np.concatenate(scores).astype(np.int64)
    key = mentee * mentor_count + mentor
    _, unique = np.unique(key, return_index=True)
    reserve_mentee = np.concatenate([np.zeros(0, dtype=np.int64)] + [r[0] for r in spare]).astype(np.int64)
    reserve_mentor = np.concatenate([np.zeros(0, dtype=np.int64)] + [r[1] for r in spare]).astype(np.int64)
    reserve_score = np.concatenate([np.zeros(0, dtype=np.int64)] + [r[2] for r in spare]).astype(np.int64)
    # Arcs a mentor's pick already put in the flow leave the reserve.
    outside = ~np.isin(reserve_mentee * mentor_count + reserve_mentor, key)
    return Shortlist(
        mentee=mentee[unique],
        mentor=mentor[unique],
        score=np.asarray(score[unique], dtype=np.int64),
        best_pruned=best_pruned,
        eligible_mentors=eligible,
        reserve_mentee=reserve_mentee[outside],
        reserve_mentor=reserve_mentor[outside],
        reserve_score=reserve_score[outside],
        mentor_best=mentor_best,
    )


def solve_flow(
    mentee_count: int, capacities: Capacities, mentee: IntArray, mentor: IntArray, score: IntArray
) -> Assignment:
    """Exact optimum over the given arcs (max matched, then max score minus penalty)."""
    mentor_count = len(capacities.capacity)
    source, sink = 0, 1
    mentee_node = 2 + np.arange(mentee_count, dtype=np.int64)
    mentor_node = 2 + mentee_count + np.arange(mentor_count, dtype=np.int64)
    slot_mentor, slot_cost = capacities.slot_costs()
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(mentee_count, source, dtype=np.int32),
        mentee_node.astype(np.int32),
        np.ones(mentee_count, dtype=np.int64),
        np.zeros(mentee_count, dtype=np.int64),
    )
    first_pair_arc = mentee_count
    # Every matched mentee pays MICRO, a constant among maximum flows, so costs stay non-negative.
    flow.add_arcs_with_capacity_and_unit_cost(
        mentee_node[mentee].astype(np.int32),
        mentor_node[mentor].astype(np.int32),
        np.ones(len(mentee), dtype=np.int64),
        (MICRO - score).astype(np.int64),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        mentor_node[slot_mentor].astype(np.int32),
        np.full(len(slot_mentor), sink, dtype=np.int32),
        np.ones(len(slot_mentor), dtype=np.int64),
        slot_cost.astype(np.int64),
    )
    flow.set_node_supply(source, mentee_count)
    flow.set_node_supply(sink, -mentee_count)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    used = flow.flows(np.arange(first_pair_arc, first_pair_arc + len(mentee))) > 0
    return assignment_of(capacities, mentee[used], mentor[used], score[used])


def assignment_of(capacities: Capacities, mentee: IntArray, mentor: IntArray, score: IntArray) -> Assignment:
    load = np.bincount(mentor, minlength=len(capacities.capacity)).astype(np.int64)
    total = int(score.sum())
    return Assignment(mentee, mentor, score, len(mentee), total, total - capacities.penalty(load))


def greedy(
    mentee_count: int, capacities: Capacities, mentee: IntArray, mentor: IntArray, score: IntArray
) -> Assignment:
    """The baseline most products use: best-scoring pairs first while places remain."""
    order = np.lexsort((mentor, mentee, -score))
    room = capacities.capacity.copy()
    taken = np.zeros(mentee_count, dtype=bool)
    chosen = []
    for arc in order.tolist():
        i, j = int(mentee[arc]), int(mentor[arc])
        if not taken[i] and room[j] > 0:
            taken[i] = True
            room[j] -= 1
            chosen.append(arc)
    picked = np.asarray(chosen, dtype=np.int64)
    return assignment_of(capacities, mentee[picked], mentor[picked], score[picked])


def lexicographic_weight(mentee_count: int, capacities: Capacities) -> int:
    """A matched mentee outweighs any score difference a whole solution can make."""
    largest_slot = int((capacities.existing_load + capacities.capacity).max(initial=0))
    return (mentee_count + 1) * (MICRO + capacities.spread_penalty * largest_slot) + 1


def potentials(
    mentee_count: int, capacities: Capacities, arcs: tuple[IntArray, IntArray, IntArray], solution: Assignment
) -> tuple[IntArray, int]:
    """Node potentials with non-negative reduced costs on the residual graph, verified.

    Nodes: 0 source, 1 sink, 2.. mentees, then mentors. Raises if the solution is not optimal
    over `arcs` (a negative cycle exists), so a returned potential is itself a proof."""
    mentee, mentor, score = arcs
    mentor_count = len(capacities.capacity)
    big_m = lexicographic_weight(mentee_count, capacities)
    node_of_mentee = 2 + np.arange(mentee_count, dtype=np.int64)
    node_of_mentor = 2 + mentee_count + np.arange(mentor_count, dtype=np.int64)
    matched = np.zeros(mentee_count, dtype=bool)
    matched[solution.mentee] = True
    pair_key = solution.mentee * mentor_count + solution.mentor
    used = np.isin(mentee * mentor_count + mentor, pair_key)
    load = solution.mentor_load(mentor_count)
    next_slot = capacities.spread_penalty * (capacities.existing_load + load)
    tails, heads, costs = [], [], []

    def add(tail: IntArray, head: IntArray, cost: IntArray) -> None:
        tails.append(tail)
        heads.append(head)
        costs.append(cost)

    zeros = np.zeros
    add(zeros((~matched).sum(), np.int64), node_of_mentee[~matched], zeros((~matched).sum(), np.int64))
    add(node_of_mentee[matched], zeros(matched.sum(), np.int64), zeros(matched.sum(), np.int64))
    add(node_of_mentee[mentee[~used]], node_of_mentor[mentor[~used]], -(big_m + score[~used]))
    add(node_of_mentor[mentor[used]], node_of_mentee[mentee[used]], big_m + score[used])
    room = load < capacities.capacity
    add(node_of_mentor[room], np.ones(room.sum(), np.int64), next_slot[room])
    busy = load > 0
    add(np.ones(busy.sum(), np.int64), node_of_mentor[busy], -(next_slot[busy] - capacities.spread_penalty))
    add(np.asarray([1]), np.asarray([0]), np.asarray([0]))
    if solution.matched:
        add(np.asarray([0]), np.asarray([1]), np.asarray([0]))
    tail = np.concatenate(tails).astype(np.int64)
    head = np.concatenate(heads).astype(np.int64)
    cost = np.concatenate(costs).astype(np.int64)
    node_count = 2 + mentee_count + mentor_count
    # The lowest valid potentials (distances TO a virtual sink, negated) price mentors as high as the
    # residual graph allows; then each mentee is raised to the best its incoming arcs allow. Any valid
    # potential is a proof; these make pruned arcs easiest to rule out.
    distance = -_bellman_ford(node_count, head, tail, cost)
    into_mentee = (head >= 2) & (head < 2 + mentee_count)
    highest = np.full(node_count, np.iinfo(np.int64).max)
    np.minimum.at(highest, head[into_mentee], distance[tail[into_mentee]] + cost[into_mentee])
    distance = np.where(highest < np.iinfo(np.int64).max, highest, distance)
    if (cost + distance[tail] - distance[head] < 0).any():
        raise RuntimeError("no valid potential: the flow solution is not optimal")
    return distance, big_m


def _bellman_ford(node_count: int, tail: IntArray, head: IntArray, cost: IntArray) -> IntArray:
    """Shortest distances from a virtual root joined to every node at cost 0 (vectorised rounds,
    relaxing only arcs out of nodes that changed in the previous round)."""
    distance = np.zeros(node_count, dtype=np.int64)
    order = np.argsort(tail, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    start = np.searchsorted(tail, np.arange(node_count + 1))
    changed = np.arange(node_count)
    for _ in range(node_count + 1):
        counts = start[changed + 1] - start[changed]
        if counts.sum() == 0:
            return distance
        offsets = np.repeat(start[changed] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        candidate = distance[tail[offsets]] + cost[offsets]
        better = candidate < distance[head[offsets]]
        if not better.any():
            return distance
        targets = head[offsets][better]
        np.minimum.at(distance, targets, candidate[better])
        changed = np.unique(targets)
    raise RuntimeError("negative cycle: the flow solution is not optimal")


def _known_arcs(
    mentee: IntArray, mentor: IntArray, reserve_mentee: IntArray, reserve_mentor: IntArray, mentee_count: int
) -> tuple[IntArray, IntArray]:
    """Arcs known exactly (flow arcs and reserve), by mentee: each mentee's start offset and the
    known arcs' mentors in mentee order."""
    known_mentee = np.concatenate([mentee, reserve_mentee])
    known_order = np.argsort(known_mentee, kind="stable")
    known_start = np.searchsorted(known_mentee[known_order], np.arange(mentee_count + 1))
    return known_start, np.concatenate([mentor, reserve_mentor])[known_order]


def _drop_known(
    allowed: BoolArray,
    rows: IntArray,
    cols: IntArray,
    known_start: IntArray,
    known_mentor: IntArray,
    column_of: IntArray,
) -> None:
    """Mark the arcs already known for these rows as not allowed (never rescored or added twice);
    `column_of` is a scratch array of -1, left as it was found."""
    column_of[cols] = np.arange(len(cols))
    counts = known_start[rows + 1] - known_start[rows]
    first = np.repeat(known_start[rows] - np.cumsum(counts) + counts, counts)
    spans = first + np.arange(counts.sum())
    known_cols = column_of[known_mentor[spans]]
    known_rows = np.repeat(np.arange(len(rows)), counts)
    inside = known_cols >= 0
    allowed[known_rows[inside], known_cols[inside]] = False
    column_of[cols] = -1


def solve_certified(
    oracle: RowOracle,
    mentee_count: int,
    capacities: Capacities,
    candidates: Shortlist,
    *,
    block: int = 1024,
    max_rounds: int = 50,
    margin: int = 20_000,
    per_row: int = 16,
) -> Assignment:
    """Solve on the shortlist, then prove optimality over every allowed pair (adding back pruned
    arcs that could improve the solution and re-solving until none can). Arcs within `margin`
    micro-points of improving are added too: it saves rounds, and never affects the proof. A round
    adds at most `per_row` rescored arcs per mentee (the ones closest to improving, ties spread over
    the mentors as the shortlist does): in a cohort of alike people every arc ties, and adding them
    all made the flow as large as the whole cohort."""
    mentee, mentor, score = candidates.mentee, candidates.mentor, candidates.score
    reserve_mentee, reserve_mentor = candidates.reserve_mentee, candidates.reserve_mentor
    reserve_score = candidates.reserve_score
    mentor_count = len(capacities.capacity)
    best_pruned = candidates.best_pruned
    mentor_best = candidates.mentor_best
    # Arcs known exactly (flow arcs and reserve), by mentee: never rescored or added twice.
    known_start, known_mentor = _known_arcs(mentee, mentor, reserve_mentee, reserve_mentor, mentee_count)
    added = rescored = 0
    for round_number in range(1, max_rounds + 1):
        solution = solve_flow(mentee_count, capacities, mentee, mentor, score)
        distance, big_m = potentials(mentee_count, capacities, (mentee, mentor, score), solution)
        mentee_potential = distance[2 : 2 + mentee_count]
        mentor_potential = distance[2 + mentee_count :]
        # Pruned arc (i, j) is ruled out when score_ij + d_j <= d_i - M (non-negative reduced cost).
        # Reserve arcs first, exactly and without rescoring:
        slack = reserve_score + mentor_potential[reserve_mentor] - (mentee_potential[reserve_mentee] - big_m)
        violated = slack > -margin
        violations = int((slack > 0).sum())
        new_mentee = [reserve_mentee[violated]]
        new_mentor = [reserve_mentor[violated]]
        new_score = [reserve_score[violated]]
        reserve_mentee, reserve_mentor = reserve_mentee[~violated], reserve_mentor[~violated]
        reserve_score = reserve_score[~violated]
        # Then everything else, bounded by best_pruned: with mentors sorted by potential, only a
        # prefix of them (d_j above d_i - M - best_pruned_i) can fail for mentee i, so only that
        # prefix of the mentee's row is rescored.
        # A mentor's best score with anyone bounds the column too: a row is rescored only if some
        # mentor in its prefix has mentor_best_j + d_j above d_i - M, and only those columns.
        by_potential = np.argsort(-mentor_potential, kind="stable")
        sorted_potential = mentor_potential[by_potential]
        column_bound = sorted_potential + (mentor_best[by_potential] if mentor_best is not None else big_m)
        running_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(column_bound)])
        # Proven without rescoring when no reserve arc has positive slack and the bounds rule out
        # positive slack on every pruned one. (Within `margin` of it they may not: in a cohort of
        # alike people every arc ties, and rescoring every row only to find arcs that no further
        # round would use was 57-66 % of a run of 1,572 or 6,000 mentees against 5,000 mentors.)
        exact = mentee_potential - big_m
        if violations == 0 and not len(_bounded(exact, best_pruned, sorted_potential, running_max)[1]):
            solution.certificate = Certificate(True, round_number, added, rescored, len(mentee))
            return solution
        limit = exact - margin
        prefix, suspects = _bounded(limit, best_pruned, sorted_potential, running_max)
        suspects = suspects[np.argsort(prefix[suspects], kind="stable")]
        column_of = np.full(mentor_count, -1, dtype=np.int64)
        for begin in range(0, len(suspects), block):
            rows = suspects[begin : begin + block]
            reach = int(prefix[rows].max())
            cols = by_potential[:reach][column_bound[:reach] > limit[rows].min()]
            rescored += len(rows)
            row_score, allowed = oracle(rows, cols)
            _drop_known(allowed, rows, cols, known_start, known_mentor, column_of)
            # Slack above `limit` (which is `margin` below the potential's): near, or above margin: violated.
            above_limit = row_score + mentor_potential[cols][None, :] - limit[rows][:, None]
            near = allowed & (above_limit > 0)
            violations += int((near & (above_limit > margin)).sum())
            if len(cols) > per_row:
                near &= _best_per_row(above_limit, near, rows, cols, mentor_count, per_row)
            r, c = np.nonzero(near)
            new_mentee.append(rows[r])
            new_mentor.append(cols[c].astype(np.int64))
            new_score.append(row_score[r, c].astype(np.int64))
        extra = int(sum(len(x) for x in new_mentee))
        # Proven when no pruned arc has positive slack (arcs merely near the limit do not count).
        if violations == 0:
            solution.certificate = Certificate(True, round_number, added, rescored, len(mentee))
            return solution
        added += extra
        mentee = np.concatenate([mentee, *new_mentee])
        mentor = np.concatenate([mentor, *new_mentor])
        score = np.concatenate([score, *new_score])
        known_start, known_mentor = _known_arcs(mentee, mentor, reserve_mentee, reserve_mentor, mentee_count)
    solution.certificate = Certificate(False, max_rounds, added, rescored, len(mentee))
    return solution


def _bounded(
    limit: IntArray, best_pruned: IntArray, sorted_potential: IntArray, running_max: IntArray
) -> tuple[IntArray, IntArray]:
    """Each row's prefix of the mentors (by potential) that its best pruned score could lift above
    its `limit`, and the rows where some mentor of that prefix can also reach it by their best."""
    prefix = np.searchsorted(-sorted_potential, -(limit - best_pruned), side="left")
    return prefix, np.flatnonzero((best_pruned >= 0) & (prefix > 0) & (running_max[prefix] > limit))


def _best_per_row(
    above_limit: IntArray, near: BoolArray, rows: IntArray, cols: IntArray, mentor_count: int, per_row: int
) -> BoolArray:
    """The `per_row` arcs of each row closest to improving (highest slack); among equal ones, each
    row in its own order (`_tie_break`), so that rows tied on the same mentors add different ones."""
    spread = _tie_break(rows, mentor_count, cols)
    # Clipped so the key cannot overflow (a slack past 2**40 micro-points is near-certain anyway).
    key = np.where(near, np.minimum(above_limit, 1 << 40) * mentor_count + spread, np.iinfo(np.int64).min)
    top = np.argpartition(key, key.shape[1] - per_row, axis=1)[:, key.shape[1] - per_row :]
    best = np.zeros_like(near)
    np.put_along_axis(best, top, True, 1)
    return best


def blocking_pairs(
    solution: Assignment, capacities: Capacities, mentee: IntArray, mentor: IntArray, score: IntArray
) -> int:
    """Pairs, among the given arcs, who both prefer each other to what they got: the mentee scores
    the mentor above its own match (or is unmatched) and the mentor has room or a weaker mentee."""
    mentor_count = len(capacities.capacity)
    mentee_count = int(max(mentee.max(initial=-1), solution.mentee.max(initial=-1))) + 1
    own = np.full(mentee_count, -1, dtype=np.int64)
    own[solution.mentee] = solution.score
    load = solution.mentor_load(mentor_count)
    weakest = np.full(mentor_count, np.iinfo(np.int64).max)
    np.minimum.at(weakest, solution.mentor, solution.score)
    weakest = np.where(load < capacities.capacity, -1, weakest)
    together = np.isin(mentee * mentor_count + mentor, solution.mentee * mentor_count + solution.mentor)
    return int((~together & (score > own[mentee]) & (score > weakest[mentor])).sum())
