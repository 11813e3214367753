"""The admin cohort run: read the program's waiting seats and the mentors it admits, run the engine
(off the event loop) stage by seat stage, store the audited run with MatchRunCompleted, then apply
it as the program's approval says (pairs, MatchProposed for an admin, or MentorshipRequested).

Minimal disruption: only waiting seats take part, so existing pairs stay and their mentors'
program load counts them; unless the run is asked not to keep existing pairs, when the program's
current pairs are reconsidered and applying moves only those the optimum reassigns. A preview
(`apply: false`) stores the run and changes nobody."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any

from servicekit.aggregates import Emitted
from servicekit.erasure import pseudonym

from matching.domain.cohort_run import run_cohort
from matching.domain.fairness import GroupFloor
from matching.domain.match_run import Applied, MatchRun, MergedRun, PairChange, RunPair, Stage, merge_stages
from matching.domain.org_view import OrgView
from matching.domain.program import Approval, Program
from matching.domain.programs import MatchingPolicy, MatchingRules, ProgramType
from matching.domain.seat import MenteeSeat, SeatStatus
from matching.domain.seat_parts import Match
from matching.use_cases import pool
from matching.use_cases.context import Matching, NotFound, Refused, RunItemKind
from matching.use_cases.programs import require_program

# How many pairs and unmatched mentees a run's own representation carries; the rest are paged.
FIRST_PAGE = 1000


@dataclass(frozen=True)
class PolicyOverrides:
    """What a run may set instead of the program's settings."""

    weights: dict[str, float] | None = None
    require_shared_language: bool | None = None
    load_spread_penalty: float | None = None

    def applied_to(self, program: Program) -> MatchingPolicy:
        base = program.policy()
        try:
            return replace(
                base,
                weights=base.weights if self.weights is None else self.weights,
                rules=MatchingRules(
                    require_shared_language=base.rules.require_shared_language
                    if self.require_shared_language is None
                    else self.require_shared_language,
                    focus_skill=base.rules.focus_skill,
                ),
                load_spread_penalty=base.load_spread_penalty
                if self.load_spread_penalty is None
                else self.load_spread_penalty,
            )
        except ValueError as error:
            raise Refused(str(error)) from error


@dataclass
class RunReport:
    """A stored run with the first page of its pairs and of its unmatched mentees."""

    run: MatchRun
    pairs: list[dict[str, Any]]
    unmatched: list[dict[str, Any]]


async def run_cohort_now(
    m: Matching,
    org_id: str,
    program_id: str,
    overrides: PolicyOverrides,
    *,
    apply: bool = True,
    keep_existing_pairs: bool = True,
) -> RunReport:
    """Run, store and (unless a preview) apply the program's matching; the same inputs find the
    run already stored, applied once."""
    program = await require_program(m, org_id, program_id)
    if program.type is ProgramType.CIRCLES:
        raise Refused("A circles program forms circles (POST /programs/{id}/circles), never pairs.")
    policy = overrides.applied_to(program)
    if apply and not keep_existing_pairs and program.approval is Approval.MENTOR:
        raise Refused(
            "moving existing pairs needs each new mentor's acceptance in this program: preview it "
            "(apply: false) and end the pairs to change instead"
        )
    view = await m.reads.org(org_id)
    # A mentee's focus seats are bookkeeping, not a match: a preview makes them too.
    if await pool.seat_waiting_mentees(m, view, program):
        view = await m.reads.org(org_id)
    now = m.now()
    started = asyncio.get_running_loop().time()
    stages, mentors, floor = await _stages(m, view, program, policy, keep_existing=keep_existing_pairs)
    merged = merge_stages(stages)
    run, completed = MatchRun.record(
        program,
        merged,
        apply=apply,
        keep_existing_pairs=keep_existing_pairs,
        mentors=mentors,
        fairness_group_size=len(floor.member_ids) if floor else None,
        seconds=asyncio.get_running_loop().time() - started,
        now=now,
    )
    stored = await _store(m, run, completed, merged)
    if apply and stored.applied is None:
        seats = {(seat.person_id, stage.seat): seat for stage in stages for seat in stage.waiting}
        applied = await _apply(m, program, run.id, merged.pairs, seats)
        saved = await m.runs.change(run.id, lambda r: r.mark_applied(applied))
        stored = saved.aggregate if saved is not None else stored
    return await report(m, stored)


async def _store(m: Matching, run: MatchRun, completed: list[Emitted], merged: MergedRun) -> MatchRun:
    """The items first, the run (the commit point, with its event) last; a run stored already
    (the same inputs) is returned as stored."""
    stored = await m.runs.get(run.id)
    if stored is not None:
        return stored
    await m.run_items.store(run, RunItemKind.PAIRS, [p.model_dump(mode="json") for p in merged.pairs])
    await m.run_items.store(run, RunItemKind.UNMATCHED, [u.model_dump(mode="json") for u in merged.unmatched])
    if await m.runs.create(run, completed):
        return run
    return await m.runs.get(run.id) or run


async def _stages(
    m: Matching, view: OrgView, program: Program, policy: MatchingPolicy, *, keep_existing: bool
) -> tuple[list[Stage], int, GroupFloor | None]:
    now = m.now()
    seats = range(1, program.mentors_per_mentee + 1)
    current = {} if keep_existing else {s: view.paired_in(program, s) for s in seats}
    # A reconsidered pair's place counts as free for the solver: it may keep it or give it away.
    released = Counter(seat.current_mentor() for paired in current.values() for seat in paired)
    mentors = [
        replace(
            p,
            free_capacity=p.free_capacity + released[p.person_id],
            program_load=p.program_load - released[p.person_id],
        )
        for p in view.mentor_profiles(program, now)
    ]
    used: Counter[str] = Counter()  # places taken by earlier seat stages of this run
    taken: dict[str, set[str]] = defaultdict(set)  # person -> mentors earlier stages gave them
    stages: list[Stage] = []
    floor: GroupFloor | None = None
    for number in seats:
        waiting = view.waiting_in(program, number) + current.get(number, [])
        if not waiting and number > 1:
            continue
        mentees = [seat.match_profile_now(now) for seat in waiting]
        available = [
            replace(
                p,
                free_capacity=p.free_capacity - used[p.person_id],
                program_load=p.program_load + used[p.person_id],
            )
            for p in mentors
        ]
        previous = [
            (seat.person_id, mentor)
            for seat in waiting
            for mentor in sorted(set(view.excluded_for(seat)) | taken[seat.person_id])
        ]
        floor = await fairness_floor(m, program, [p.person_id for p in mentees])
        result = await m.engine.call(
            len(mentees) * len(available),
            run_cohort,
            policy,
            mentees,
            available,
            managers=view.managers,
            previous_pairs=previous,
            group_floor=floor,
            goals=view.goals_of(mentees, available),
        )
        for pair in result.pairs:
            used[pair.mentor_id] += 1
            taken[pair.mentee_id].add(pair.mentor_id)
        stages.append(Stage(number, waiting, result))
    return stages, len(mentors), floor


async def fairness_floor(m: Matching, program: Program, mentee_ids: list[str]) -> GroupFloor | None:
    """The program's fairness floor over the waiting mentees who consented to share the attribute
    (matching keeps those attributes from the restricted topic, nowhere else)."""
    rule = program.fairness
    if rule is None:
        return None
    records = await m.reads.inclusion_of(program.org_id, mentee_ids)
    return GroupFloor(
        member_ids=frozenset(r.person_id for r in records if r.belongs_to(rule.attribute, rule.value)),
        min_match_rate=rule.min_match_rate,
        min_average_score=rule.min_average_score,
    )


async def _apply(
    m: Matching, program: Program, run_id: str, pairs: list[RunPair], seats: dict[tuple[str, int], MenteeSeat]
) -> Applied:
    """Offer each new pair of the run and move each reassigned one; a seat or mentor that changed
    since the run is skipped (and named), never paired twice. Pairs and moves wait for each other:
    one that finds its mentor full is retried after those that free places there."""
    pending: list[tuple[PairChange, MenteeSeat, Match]] = []
    skipped: list[str] = []
    done: Counter[PairChange] = Counter()
    for pair in pairs:
        seat = seats.get((pair.mentee_id, pair.seat))
        if pair.change is PairChange.KEPT:
            done[PairChange.KEPT] += 1
        elif seat is None:
            skipped.append(pair.mentee_id)
        else:
            pending.append((pair.change, seat, pair.as_match()))
    while pending:
        retry = []
        for change, seat, match in pending:
            if change is PairChange.MOVED:
                made = await pool.move_pair(m, program, seat, match, run_id=run_id)
            else:
                made = await pool.offer(m, program, seat, match, run_id=run_id, automatic=True)
            if made:
                done[change] += 1
                continue
            current = await m.seats.get(seat.id)
            if current is not None and current.status is seat.status:
                retry.append((change, current, match))  # only the mentor's place was missing
            elif current is None or current.status is SeatStatus.ERASED:
                # Erased while the run was applied: the audit names them as the erasure would.
                skipped.append(pseudonym(program.org_id, seat.person_id))
            else:
                skipped.append(seat.person_id)
        if len(retry) == len(pending):  # no progress: these keep their state
            skipped += [seat.person_id for _, seat, _ in retry]
            break
        pending = retry
    return Applied(
        as_=program.approval.value,
        made=done[PairChange.NEW],
        moved=done[PairChange.MOVED],
        kept=done[PairChange.KEPT],
        skipped=skipped,
    )


async def report(m: Matching, run: MatchRun) -> RunReport:
    """The run as served: its summary with the first page of pairs and of unmatched mentees."""
    return RunReport(
        run,
        await m.run_items.page(run.run_id, RunItemKind.PAIRS, 0, FIRST_PAGE),
        await m.run_items.page(run.run_id, RunItemKind.UNMATCHED, 0, FIRST_PAGE),
    )


async def stored_run(m: Matching, org_id: str, run_id: str) -> MatchRun:
    run = await m.runs.get(run_id, org_id)
    if run is None:
        raise NotFound("There is no such cohort run.")
    return run


async def run_page(
    m: Matching, org_id: str, run_id: str, kind: RunItemKind, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of a stored run's pairs or unmatched mentees, in the run's order."""
    await stored_run(m, org_id, run_id)
    return await m.run_items.page(run_id, kind, offset, limit)
