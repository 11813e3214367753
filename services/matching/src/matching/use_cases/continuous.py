"""Continuous matching: for each open program that matches continuously, the engine runs over the
seats waiting in it and the mentors available now, and its optimum is offered as the program's
approval says (seat by seat when mentees get one mentor per focus area).

`match_program` is the unit: one engine run for (org, program) over a view of the org, its
mentors' places taken, its offers then written by a task of their own. It runs after every change
that may let someone be matched (a mentor available, a mentee joining, a place given back)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from servicekit.coalesce import Finishing

from matching.domain.cohort import mentor_exclusion
from matching.domain.cohort_run import continuous_pairs
from matching.domain.compatibility import Explanation
from matching.domain.match_run import as_match
from matching.domain.org_view import OrgView
from matching.domain.program import Approval, Program
from matching.domain.seat import MenteeSeat
from matching.domain.seat_parts import Match
from matching.use_cases import pool
from matching.use_cases.context import Matching
from matching.use_cases.programs import find_program, programs_of

log = logging.getLogger(__name__)


async def match_continuously(m: Matching, org_id: str) -> None:
    """Run continuous matching for the org after this call, and wait for it (or not, for a context
    `behind` the caller). Callers of one short window share one run (a consumer's batch of
    registrations in one org costs one engine run); the run starts after every one of them asked,
    so it sees their writes."""
    if m.coalescer is None:
        await match_org_now(m, org_id)
    elif m.behind:
        m.coalescer.ask(org_id, lambda: _coalesced_run(m, org_id))
    else:
        await m.coalescer.run(org_id, lambda: _coalesced_run(m, org_id))


async def match_waiting_orgs(m: Matching) -> int:
    """Continuous matching in every org where someone waits: what a run behind a consumer's
    handlers would have paired had the process not stopped or crashed before it (their offsets
    were committed when the seats were stored). Places a crash left taken by no seat go back
    first, so the run can offer them. Returns 0: the runs emit, not this sweep."""
    for org_id in await m.reads.orgs_with_waiting_seats():
        await pool.give_back_unbacked_places(m, org_id)
        await match_continuously(m, org_id)
    return 0


# A run whose offers lost races (its view was behind another writer: another replica's run, an
# admin) is followed by another on the org read afresh: the seats it could not offer still wait,
# and with no further change in the org nothing else would run for them before the waiting-seats
# sweep (a minute). Two replicas on one org lose races all along. A run that made offers as well
# has moved on, and its follower gets the whole allowance again; up to this many runs in a row
# that lost races and made nothing are followed (a view that cannot catch up must not run forever).
# Counted down across runs that made offers, the allowance could run out at the end of a flood with
# two replicas: a last rerun (a coalescer runs the work asked first, so it serves the asks of the
# last registrations too) made offers, lost a few races, and those seats waited for the sweep.
RERUNS_AFTER_LOST_RACES = 3

# Behind a coalescer, one more run follows the allowance, this much later: runs lose every race in
# a row while another writer takes the very places they reach for (the other replica's run of
# hundreds of offers, at the end of a flood when the places left are as many as the seats waiting),
# and once its writes are done the places still free show. Without it those seats waited for the
# next change in the org or the sweep: at the end of a flood nothing else changes. (One flood of
# matching's comparison, at a 0.1 s coalescing window, took 58 s instead of 6, about the sweep's
# minute; its logs were gone, so that this was the cause is a guess.)
LATE_RERUN_SECONDS = 2.0
_LATE = -1  # the allowance of that late run: none after it

# Behind a coalescer, the run that follows one that made offers (and lost races) starts this soon
# instead of a coalescing window later: there is nothing to gather into it (asks made meanwhile
# join a run already due, which serves it), and the seats that lost wait for it. At the end of a
# flood with two replicas each window was dead time on the way to the last pairs: in alternated
# comparisons (matching's flood, 2 replicas, 10 rounds) the last 1.57 s after the consumer's last
# commit became 1.18 s, and the floods ran x1.053 faster. A run that follows one that made nothing
# still waits the window: the writer that took its places may be still taking others.
RERUN_SECONDS = 0.02


def _reruns_left(org_id: str, made: int, lost: int, reruns: int, *, late: bool = False) -> int | None:
    """The allowance of the run that follows one that made `made` offers and lost `lost` races
    with `reruns` left, or None when none follows (said in the log when seats are left waiting);
    `late`: when the allowance is spent, the late run follows (`LATE_RERUN_SECONDS`)."""
    if not lost:
        return None
    if made:
        return RERUNS_AFTER_LOST_RACES
    if reruns > 0:
        return reruns - 1
    if reruns == 0 and late:
        return _LATE
    log.warning(
        "org %s: a run made no offer and lost %d race(s), with no rerun left after runs like it; "
        "those seats wait for the next change in the org or the waiting-seats sweep",
        org_id,
        lost,
    )
    return None


# The offers of one engine run still being written once their mentors' places are taken: the
# pairs, proposals or requests made, and the offers that lost a race (placing or writing).
Writing = asyncio.Task[tuple[int, int]]


@dataclass
class Placing:
    """What a run's engine runs placed: the tasks writing their offers, and how many offers got
    their mentor's place and how many lost it to another writer (known before the writes end)."""

    writing: list[Writing] = field(default_factory=list)
    placed: int = 0
    lost: int = 0


async def match_org_now(m: Matching, org_id: str, *, reruns: int = RERUNS_AFTER_LOST_RACES) -> int:
    """Every continuous open program of the org in turn, offers written; returns the pairs,
    proposals or requests made (by this run: a rerun after lost races, behind a coalescer, counts
    for itself)."""
    total = 0
    left: int | None = reruns
    while left is not None:
        made, lost = await _written((await _place_org(m, org_id)).writing)
        total += made
        left = _reruns_left(org_id, made, lost, left, late=m.coalescer is not None)
        if left is not None and m.coalescer is not None:
            _ask_rerun(m, org_id, left, soon=made > 0)
            break
    return total


def _ask_rerun(m: Matching, org_id: str, reruns: int, *, soon: bool) -> None:
    """The rerun with `reruns` left, `soon` after a run that made offers (`RERUN_SECONDS`)."""
    assert m.coalescer is not None
    delay = LATE_RERUN_SECONDS if reruns == _LATE else RERUN_SECONDS if soon else None
    m.coalescer.ask(org_id, lambda: _coalesced_run(m, org_id, reruns=reruns), delay=delay)


async def _coalesced_run(m: Matching, org_id: str, *, reruns: int = RERUNS_AFTER_LOST_RACES) -> Finishing:
    """`match_org_now` behind the coalescer, whose next run of the org may start once this one's
    places are taken: it computes while this one's offers are written (a flood's largest runs
    offer thousands of seats, a second or more of writes). Its view sees those places taken and
    leaves their seats to the offers under way (`OrgView.offer_under_way`).

    The rerun for offers that lost their places is asked for as soon as the places are taken, not
    after the writes: a flood with two replicas ended with runs that lost hundreds of places and
    then wrote their other offers for 0.4-0.5 s before their losers' rerun was even asked for (the
    offers placed count as made). Offers that lost a race while written (a seat that changed
    meanwhile) are followed once the writes end, as before."""
    placing = await _place_org(m, org_id)
    asked = placing.lost > 0
    if asked:
        left = _reruns_left(org_id, placing.placed, placing.lost, reruns, late=True)
        if left is not None:
            _ask_rerun(m, org_id, left, soon=placing.placed > 0)

    async def rest() -> None:
        made, lost = await _written(placing.writing)
        if asked:  # placing's losers have their rerun; these lost the seat itself
            lost -= placing.lost
        left = _reruns_left(org_id, made, lost, reruns, late=True)
        if left is not None:
            _ask_rerun(m, org_id, left, soon=made > 0)

    return Finishing(rest)


async def _written(writing: list[Writing]) -> tuple[int, int]:
    results = await asyncio.gather(*writing)
    return sum(made for made, _ in results), sum(lost for _, lost in results)


async def _place_org(m: Matching, org_id: str) -> Placing:
    """The engine's runs of every continuous open program of the org, their mentors' places
    taken; their offers are being written by the tasks returned."""
    placing = Placing()
    try:
        # The programs and the org's view, read together: every org has a continuous program
        # unless an admin said otherwise (the built-in `open` one). On a loop busy writing the last
        # run's offers each read waits its turn: at the end of a flood with two replicas a rerun
        # waited 0.1-0.15 s for the programs before its view's read (0.07-0.37 s) even began.
        programs, first_view = await asyncio.gather(programs_of(m, org_id), m.reads.org(org_id))
        view: OrgView | None = first_view
        for program in programs:
            # A circles program forms circles (an admin's POST .../circles), never pairs with a mentor.
            if not (program.continuous and program.is_open) or program.forms_circles:
                continue
            view = view or await m.reads.org(org_id)
            if await match_program(m, program, view, placing):
                view = None  # the next program must see these places taken (or the view read afresh)
    except BaseException:
        # The offers whose places were taken are written all the same.
        await asyncio.gather(*placing.writing, return_exceptions=True)
        raise
    return placing


async def match_program(m: Matching, program: Program, view: OrgView, placing: Placing) -> bool:
    """One program's waiting seats against its mentors, seat stage by seat stage: each stage's
    places taken (counted in `placing`), and a task writing its offers added to it. Whether
    anything was placed or lost (the org's view is then read afresh next time)."""
    if await pool.seat_waiting_mentees(m, view, program):
        view = await m.reads.org(program.org_id)
    now = m.now()
    changed = False
    for stage in range(1, program.mentors_per_mentee + 1):
        waiting = view.waiting_to_offer(program, stage)
        if not waiting:
            continue
        if not view.offers_possible(program):
            break
        mentees = [seat.match_profile_now(now) for seat in waiting]
        # Only the mentors this run may pair: the engine would rule the others out (full, paused,
        # not in the program's type) before scoring anyone, after their profiles had been pickled
        # to its process and back into objects there for nothing; late in a flood most are full
        # (a mentor without a free place is ruled out as paused or full: no profile is built).
        policy = program.policy()
        available = view.mentor_profiles(program, now, with_free_places=True)
        mentors = [p for p in available if mentor_exclusion(policy, p) is None]
        pairs = await m.engine.call(
            len(waiting) * len(mentors),
            continuous_pairs,
            policy,
            mentees,
            mentors,
            view.managers,
            view.previous_pairs(waiting),
            view.continuous_goals(mentees, mentors),
        )
        if not pairs:
            continue
        changed = True
        by_person = {seat.person_id: seat for seat in waiting}
        by_mentor: dict[str, list[Explanation]] = defaultdict(list)
        for pair in pairs:
            by_mentor[pair.mentor_id].append(pair)

        # Each seat is offered once: a mentor's seats together (their places taken in one write),
        # different mentors' at once, so their reads and writes go in groups.
        offers = {
            mentor_id: [(by_person[pair.mentee_id], _as_match(pair)) for pair in pairs]
            for mentor_id, pairs in by_mentor.items()
        }
        placed = await asyncio.gather(
            *(pool.place_offers(m, program, mentor_id, wanted) for mentor_id, wanted in offers.items())
        )
        placing_lost = len(pairs) - sum(len(taken) for taken in placed)
        placing.placed += len(pairs) - placing_lost
        placing.lost += placing_lost
        if placing_lost:
            # The view was behind: another writer took a place it had free.
            m.reads.refresh_mentors(program.org_id)
        placing.writing.append(
            asyncio.create_task(_write(m, program, list(zip(offers, placed, strict=True)), placing_lost))
        )
        if len(pairs) > placing_lost and stage < program.mentors_per_mentee:
            view = await m.reads.org(program.org_id)  # the next stage must see these mentors taken
    return changed


async def _write(
    m: Matching, program: Program, placed: list[tuple[str, list[tuple[MenteeSeat, Match]]]], lost: int
) -> tuple[int, int]:
    """The offers whose places `match_program` took: made, and lost (with those lost placing)."""
    made = sum(
        await asyncio.gather(
            *(
                pool.write_offers(m, program, mentor_id, offers, automatic=True)
                for mentor_id, offers in placed
            )
        )
    )
    tried = sum(len(offers) for _, offers in placed)
    if made < tried:
        m.reads.refresh(program.org_id)  # a seat changed meanwhile: the view was behind
    return made, lost + tried - made


def _as_match(pair: Explanation) -> Match:
    return as_match(pair.mentor_id, pair.score, pair.reasons, pair.breakdown, pair.components)


async def match_where_places_freed(m: Matching, org_ids: set[str]) -> None:
    """Matching gave mentors' places back by itself (profiles announces no availability for a
    dropped request), so continuous matching must run now or the places would idle until the
    next unrelated event."""
    for org_id in sorted(org_ids):
        await match_continuously(m, org_id)


async def ask_next_suggestion(m: Matching, org_id: str, seat_id: str, message: str | None) -> str | None:
    """After an expired request: ask the seat's next best mentor (with the same note), if any."""
    view = await m.reads.org(org_id)
    seat = view.seats.get(seat_id)
    if seat is None or not seat.waiting:
        return None
    program = await find_program(m, org_id, seat.program_id)
    if program is None or not program.is_open or program.forms_circles:
        return None
    for suggestion in view.suggestions(program, seat, m.now(), limit=5):
        match = as_match(suggestion.mentor_id, suggestion.score, suggestion.reasons, suggestion.breakdown)
        made = await pool.offer(
            m, program, seat, match, approval=Approval.MENTOR, message=message, automatic=True
        )
        if made:
            return made
        seat = await m.seats.get(seat.id) or seat
        if not seat.waiting:
            return None
    return None
