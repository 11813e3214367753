"""What program admins decide by hand (issue 13): pairing two people (hard rules still apply; a soft
rule is overridden only with a stated reason; audited) and rejecting a proposal with a reason the
audit keeps and the mentee never sees, after which the mentee still has a next mentor."""

from __future__ import annotations

import pytest
from matching.domain.seat import DeclineReason, SeatStatus
from matching.domain.seat_parts import HoldKind
from matching.use_cases import cohort_runs, manual, requests
from matching.use_cases.cohort_runs import PolicyOverrides
from matching.use_cases.context import Caller, Refused
from mentorship_schemas import MatchProposed, PairCreated, PairDeclined

from tests.matching.fakes import InMemoryMatching
from tests.matching.test_use_cases import ORG, add_mentee, add_mentor, add_program

pytestmark = pytest.mark.fast
ADMIN = Caller(ORG, "hr", is_admin=True)


async def test_an_admin_pairs_by_hand_within_the_hard_rules_and_states_a_reason_for_a_soft_one() -> None:
    mem = InMemoryMatching.new()
    await add_program(mem, "cohort", continuous=False)
    await add_mentee(mem, "ada", program_id="cohort", skills_wanted=["python"], manager_id="bea")
    await add_mentor(mem, "bea", skills_offered=["python"], level="lead")
    await add_mentor(mem, "sam", skills_offered=["sales"], level="lead")

    with pytest.raises(Refused, match="reporting line") as hard:
        await manual.pair_by_hand(mem.context, ADMIN, "cohort", "ada", "bea", "she asked for her")
    assert hard.value.field == "mentor_id"
    with pytest.raises(Refused, match="offers none of the skills the mentee wants") as soft:
        await manual.pair_by_hand(mem.context, ADMIN, "cohort", "ada", "sam", None)
    assert soft.value.field == "reason"
    assert mem.published(PairCreated) == []

    pair_id, overridden = await manual.pair_by_hand(
        mem.context, ADMIN, "cohort", "ada", "sam", "Ada moves to sales next quarter."
    )
    assert overridden == ["no_wanted_skill"]
    (created,) = mem.published(PairCreated)
    assert (created.pair_id, created.mentee_id, created.mentor_id) == (pair_id, "ada", "sam")
    assert (await mem.mentor(ORG, "sam")).free_slots == 0
    (entry,) = await manual.audit_of(mem.context, ORG, "ada")
    assert (entry.by, entry.action, entry.subject_id, entry.note, entry.overridden) == (
        "hr",
        "paired_by_hand",
        pair_id,
        "Ada moves to sales next quarter.",
        ["no_wanted_skill"],
    )


async def test_a_rejected_proposal_keeps_the_admins_reason_in_the_audit_and_proposes_the_next_mentor() -> (
    None
):
    mem = InMemoryMatching.new()
    await add_program(mem, "approved", continuous=False, approval="admin_approval")
    await add_mentee(mem, "ada", program_id="approved", skills_wanted=["python"])
    await add_mentor(mem, "mira", skills_offered=["python"], level="lead")
    await add_mentor(mem, "sam", skills_offered=["python"], level="senior")
    await cohort_runs.run_cohort_now(mem.context, ORG, "approved", PolicyOverrides())
    (first,) = mem.published(MatchProposed)

    note = "Mira is about to go on leave."
    after = await requests.refuse(
        mem.context, ADMIN, first.proposal_id, HoldKind.PROPOSAL, None, DeclineReason.REJECTED, note
    )
    (declined,) = mem.published(PairDeclined)
    assert declined.reason == "rejected"
    assert note not in declined.model_dump_json(), "the mentee never sees the admin's words"
    assert after is not None
    (_, second) = mem.published(MatchProposed)
    assert (after.outcome, after.id, after.mentor_id) == ("proposed", second.proposal_id, second.mentor_id)
    assert second.mentor_id != first.mentor_id
    assert (await mem.seat(ORG, "ada")).status is SeatStatus.HELD
    (entry,) = await manual.audit_of(mem.context, ORG, "ada")
    assert (entry.action, entry.subject_id, entry.mentor_id, entry.note) == (
        "proposal_rejected",
        first.proposal_id,
        first.mentor_id,
        note,
    )
