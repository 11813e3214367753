"""Escalating a stagnant pair ends it and always leads somewhere (issue 11, defect 5): in a program
that does not match continuously too, the mentee gets a new match now as the program's approval
says, or, when no mentor is possible, MenteeUnmatched tells the mentee and the admins why."""

from __future__ import annotations

import pytest
from matching.domain.seat import SeatStatus
from matching.domain.seat_parts import HoldKind, Stagnation
from matching.use_cases import cohort_runs, pairs, profiles, requests
from matching.use_cases.cohort_runs import PolicyOverrides
from matching.use_cases.context import Caller
from mentorship_schemas import MatchProposed, MenteeUnmatched, PairCreated, PairEnded
from mentorship_schemas.events import PairEndReason

from tests.matching.fakes import START, InMemoryMatching
from tests.matching.test_use_cases import ORG, add_mentee, add_mentor, add_program

pytestmark = pytest.mark.fast


async def _stagnant_pair(mem: InMemoryMatching, program: str, *mentors: str) -> tuple[str, str]:
    """bob paired by an admin's cohort run in `program` (not continuous); the pair is stagnant."""
    await add_mentee(mem, "bob", program_id=program, skills_wanted=["sql"])
    for rank, mentor in enumerate(mentors):
        await add_mentor(mem, mentor, skills_offered=["sql"], level=("lead", "senior")[rank % 2])
    await cohort_runs.run_cohort_now(mem.context, ORG, program, PolicyOverrides())
    pair = (await mem.seat(ORG, "bob")).pair
    assert pair is not None
    signal = Stagnation(episode_id="e1", severity="high", reasons=["quiet"], since=START)
    await profiles.pair_stagnant(mem.context, ORG, pair.pair_id, signal)
    return pair.pair_id, pair.mentor_id


async def test_escalating_in_a_cohort_program_pairs_the_mentee_with_another_mentor_at_once() -> None:
    mem = InMemoryMatching.new()
    await add_program(mem, "cohort", continuous=False)
    pair_id, former = await _stagnant_pair(mem, "cohort", "mira", "sam")
    rematch = await pairs.escalate(mem.context, Caller(ORG, "hr", is_admin=True), pair_id)
    bob = await mem.seat(ORG, "bob")
    assert bob.pair is not None
    assert (rematch.outcome, rematch.id, bob.pair.program_id) == ("paired", bob.pair.pair_id, "cohort")
    assert bob.pair.mentor_id not in {former, "bob"}
    assert [(e.pair_id, e.reason) for e in mem.published(PairEnded)] == [(pair_id, PairEndReason.STAGNANT)]
    assert len(mem.published(PairCreated)) == 2


async def test_escalating_in_an_admin_approved_program_proposes_the_next_mentor() -> None:
    mem = InMemoryMatching.new()
    await add_program(mem, "approved", continuous=False, approval="admin_approval")
    await add_mentee(mem, "bob", program_id="approved", skills_wanted=["sql"])
    await add_mentor(mem, "mira", skills_offered=["sql"], level="lead")
    await add_mentor(mem, "sam", skills_offered=["sql"], level="senior")
    run = await cohort_runs.run_cohort_now(mem.context, ORG, "approved", PolicyOverrides())
    (proposed,) = mem.published(MatchProposed)

    pair_id = await requests.accept(
        mem.context, Caller(ORG, "hr", is_admin=True), proposed.proposal_id, HoldKind.PROPOSAL, None
    )
    signal = Stagnation(episode_id="e1", severity="high", reasons=["quiet"], since=START)
    await profiles.pair_stagnant(mem.context, ORG, pair_id, signal)
    rematch = await pairs.escalate(mem.context, Caller(ORG, "bob"), pair_id)
    assert run.run.matched == 1
    assert rematch.outcome == "proposed"
    (_, again) = mem.published(MatchProposed)
    assert (again.proposal_id, again.mentee_id) == (rematch.id, "bob")
    assert again.mentor_id not in {proposed.mentor_id, "bob"}
    assert (await mem.seat(ORG, "bob")).status is SeatStatus.HELD


async def test_escalating_when_no_mentor_is_left_tells_the_mentee_and_admins_which_rule_applied() -> None:
    mem = InMemoryMatching.new()
    await add_program(mem, "cohort", continuous=False)
    pair_id, former = await _stagnant_pair(mem, "cohort", "mira")
    rematch = await pairs.escalate(mem.context, Caller(ORG, "bob"), pair_id)
    reason = (
        "Every mentor left was paired with this mentee before, or declined or let a request from them "
        "expire, and nobody is offered the same mentor twice."
    )
    assert (rematch.outcome, rematch.id, rematch.reason) == ("unmatched", None, reason)
    (unmatched,) = mem.published(MenteeUnmatched)
    assert (unmatched.mentee_id, unmatched.program_id, unmatched.cause, unmatched.ended_pair_id) == (
        "bob",
        "cohort",
        "escalated",
        pair_id,
    )
    assert (unmatched.rule, unmatched.reason) == ("previous_mentor", reason)
    bob = await mem.seat(ORG, "bob")
    assert (bob.status, bob.previous_mentors) == (SeatStatus.WAITING, (former,))
