"""A circles program only ever forms circles (issue 11, defect 1): continuous matching leaves its
waiting members alone, nobody in it gets a mentor by request, suggestion or cohort run, and an
admin forms its circles from everyone who waits."""

from __future__ import annotations

import pytest
from matching.domain.seat import SeatStatus
from matching.use_cases import circles, cohort_runs, requests
from matching.use_cases.cohort_runs import PolicyOverrides
from matching.use_cases.context import Caller, Conflict, Refused
from matching.use_cases.continuous import match_continuously
from mentorship_schemas import MatchProposed, MentorshipRequested, PairCreated

from tests.matching.fakes import InMemoryMatching
from tests.matching.test_use_cases import ORG, add_mentee, add_mentor, add_program

pytestmark = pytest.mark.fast
MEMBERS = ("ada", "bob", "cy", "dee")


async def test_a_circles_program_with_its_defaults_never_pairs_its_waiting_members_with_a_mentor() -> None:
    mem = InMemoryMatching.new()
    await add_program(mem, "circle", type="circles")  # continuous and final by default
    await add_mentor(mem, "mira", free=5, skills_offered=["python"], level="lead")
    for member in MEMBERS:
        await add_mentee(mem, member, skills_wanted=["python"], level="junior")
        joined = await requests.join(mem.context, ORG, member, "circle")
        assert joined.status is SeatStatus.WAITING
    await match_continuously(mem.context, ORG)
    for event_type in (PairCreated, MatchProposed, MentorshipRequested):
        assert mem.published(event_type) == []
    assert {(await mem.seat(ORG, m)).status for m in MEMBERS} == {SeatStatus.WAITING}
    assert (await mem.mentor(ORG, "mira")).free_slots == 5

    with pytest.raises(Conflict, match="circles program"):
        await requests.suggestions(mem.context, Caller(ORG, "ada"), None, 5)
    with pytest.raises(Conflict, match="circles program"):
        await requests.ask_mentor(mem.context, Caller(ORG, "ada"), "mira", None, None)
    with pytest.raises(Refused, match="circles"):
        await cohort_runs.run_cohort_now(mem.context, ORG, "circle", PolicyOverrides())

    formed, waiting = await circles.form_program_circles(mem.context, ORG, "circle")
    assert ([sorted(c.member_ids) for c in formed], waiting) == ([sorted(MEMBERS)], [])
    assert {(await mem.seat(ORG, m)).status for m in MEMBERS} == {SeatStatus.IN_CIRCLE}
    assert mem.published(PairCreated) == []
