"""Matching's use cases on in-memory stores (no Kafka, no server): erasure forgets a person and
keeps only anonymous history; profile facts are versioned; programs are created once and changed
as a whole; focus seats, circles and a run that moves pairs."""

from __future__ import annotations

import json

import pytest
from matching.domain.candidate import ERASED, ProfileFacts
from matching.domain.match_run import MatchRun
from matching.domain.mentor import mentor_key
from matching.domain.program import ProgramSettings
from matching.domain.seat import SeatStatus, seat_key
from matching.domain.seat_parts import AuditEntry, Match
from matching.use_cases import circles, cohort_runs, erasure, profiles, programs, requests
from matching.use_cases.cohort_runs import PolicyOverrides
from matching.use_cases.context import Caller, Conflict, NotAllowed, NotFound, Refused
from matching.use_cases.continuous import match_continuously
from mentorship_schemas import CircleFormed, PairCreated, PairDeclined, PairEnded
from mentorship_schemas.events import PairEndReason, PersonRole
from servicekit.aggregates import Emitted
from servicekit.erasure import pseudonym

from tests.matching.fakes import START, InMemoryMatching
from tests.matching.test_use_cases import ORG, add_mentee, add_mentor, add_program

pytestmark = pytest.mark.fast


@pytest.fixture
def mem() -> InMemoryMatching:
    return InMemoryMatching.new()


async def test_an_erased_mentee_has_her_pair_ended_keeps_it_anonymously_and_a_waiting_one_is_forgotten(
    mem: InMemoryMatching,
) -> None:
    await add_mentee(mem, "ada", skills_wanted=["python"], department="data", manager_id="boss")
    await add_mentee(mem, "bob", skills_wanted=["rust"])
    await add_mentor(mem, "mira", skills_offered=["python"])
    await match_continuously(mem.context, ORG)
    assert (await mem.seat(ORG, "bob")).status is SeatStatus.WAITING

    await erasure.forget_person(mem.context, ORG, "bob")
    await erasure.forget_person(mem.context, ORG, "ada")
    ada = await mem.seat(ORG, "ada")
    assert (ada.person_id, ada.status, ada.department, ada.manager_id) == (
        ERASED,
        SeatStatus.ERASED,
        None,
        None,
    )
    assert ada.pair is None, "her pair ended (issue 11, defect 2)"
    assert ada.last_pair is not None
    assert (ada.last_pair.reasons, ada.last_pair.breakdown, ada.last_pair.mentor_id) == ([], {}, "mira")
    (ended,) = mem.published(PairEnded)
    assert (ended.mentee_id, ended.mentor_id, ended.reason) == ("ada", "mira", PairEndReason.ERASED)
    assert (await mem.mentor(ORG, "mira")).free_slots == 1, "her mentor's place is free"
    assert await mem.seats.get(seat_key(ORG, "bob")) is None, "nothing worth keeping"
    await erasure.forget_person(mem.context, ORG, "ada")  # a redelivery finds nothing left
    assert (await mem.seat(ORG, "ada")).version == ada.version

    # Once its events are out, the sweep seals the seat: its history stays under an id that is
    # not her employee id, and no document names her any more.
    assert await mem.context.forgetting.seal_erased_seats() == 1
    assert await mem.seats.get(seat_key(ORG, "ada")) is None
    (kept,) = [d for d in mem.seats.documents.values() if d.get("sealed")]
    assert kept["last_pair"]["mentor_id"] == "mira"
    assert "ada" not in json.dumps(list(mem.seats.documents.values()), default=str).replace("data", "")


async def test_an_erased_mentor_is_forgotten_their_requests_declined_and_their_pairs_ended_anonymously(
    mem: InMemoryMatching,
) -> None:
    await add_program(mem, "asking", approval="mentor_acceptance", continuous=False)
    await add_mentee(mem, "ada", skills_wanted=["python"])
    await add_mentee(mem, "bob", program_id="asking", skills_wanted=["python"])
    await add_mentor(mem, "mira", free=2, skills_offered=["python"])
    await match_continuously(mem.context, ORG)
    await requests.ask_mentor(mem.context, Caller(ORG, "bob"), "mira", None, None)

    await erasure.forget_person(mem.context, ORG, "mira")
    assert await mem.mentors.get(mentor_key(ORG, "mira")) is None
    ada = await mem.seat(ORG, "ada")
    assert (ada.status, ada.pair, ada.previous_mentors) == (SeatStatus.WAITING, None, ()), "waits again"
    assert ada.last_pair is not None
    assert (ada.last_pair.mentor_id, ada.last_pair.reasons) == (ERASED, [])
    (ended,) = mem.published(PairEnded)
    assert (ended.mentee_id, ended.mentor_id, ended.reason) == ("ada", "mira", PairEndReason.ERASED)
    # Profiles' MentorUnavailable (left) for the erased mentor comes after: nothing is recreated.
    await profiles.mentor_unavailable(mem.context, ORG, "mira", 9, "left")
    assert await mem.mentors.get(mentor_key(ORG, "mira")) is None
    bob = await mem.seat(ORG, "bob")
    assert (bob.status, bob.hold, bob.declined_mentors) == (SeatStatus.WAITING, None, ())
    (declined,) = mem.published(PairDeclined)
    assert (declined.mentee_id, declined.reason) == ("bob", "mentor_unavailable")


async def test_an_erased_mentee_with_an_open_request_withdraws_it_and_frees_the_place(
    mem: InMemoryMatching,
) -> None:
    await add_program(mem, "asking", approval="mentor_acceptance", continuous=False)
    await add_mentee(mem, "bob", program_id="asking", skills_wanted=["python"])
    await add_mentor(mem, "mira", skills_offered=["python"])
    await requests.ask_mentor(mem.context, Caller(ORG, "bob"), "mira", None, None)
    await erasure.forget_person(mem.context, ORG, "bob")
    (withdrawn,) = mem.published(PairDeclined)
    assert (withdrawn.mentee_id, withdrawn.reason) == ("bob", "withdrawn")
    assert (await mem.mentor(ORG, "mira")).free_slots == 1
    tombstone = await mem.seat(ORG, "bob")
    assert (tombstone.person_id, tombstone.status) == (ERASED, SeatStatus.ERASED)


async def test_profile_facts_create_each_role_once_and_a_stale_version_changes_nothing(
    mem: InMemoryMatching,
) -> None:
    both = [PersonRole.MENTEE, PersonRole.MENTOR]
    facts = ProfileFacts(skills_wanted=["go"], skills_offered=["sql"], languages=["en"])
    await profiles.keep_facts(mem.context, ORG, "kim", both, facts, 2, START)
    older = ProfileFacts(skills_wanted=["cobol"], languages=["en"])
    await profiles.keep_facts(mem.context, ORG, "kim", both, older, 1, START)
    kim, mentor = await mem.seat(ORG, "kim"), await mem.mentor(ORG, "kim")
    assert (kim.skills_wanted, kim.profile_version, kim.status, kim.program_id) == (
        ("go",),
        2,
        SeatStatus.WAITING,
        "open",
    )
    assert (mentor.skills_offered, mentor.takes_mentees, mentor.free_slots) == (("sql",), False, 0)
    await profiles.inclusion_changed(mem.context, ORG, "kim", 3, True, {"group": "a"})
    await profiles.inclusion_changed(mem.context, ORG, "kim", 2, True, {"group": "b"})
    await profiles.inclusion_changed(mem.context, ORG, "kim", 4, False, {"group": "a"})
    (record,) = await mem.context.reads.inclusion_of(ORG, ["kim"])
    assert (record.attributes, record.profile_version) == ({}, 4)


async def test_programs_are_created_once_changed_as_a_whole_and_the_built_in_is_stored_on_change(
    mem: InMemoryMatching,
) -> None:
    spring = ProgramSettings(name="Spring", enrollment="invite", enrolled_mentees=["ada"])  # type: ignore[arg-type]
    created = await programs.create_program(mem.context, ORG, "spring", spring)
    assert (created.version, created.created_at) == (1, START)
    with pytest.raises(Conflict) as duplicate:
        await programs.create_program(mem.context, ORG, "spring", spring)
    assert duplicate.value.field == "program_id"
    with pytest.raises(Refused, match="circle_min_size"):
        await programs.change_program(mem.context, ORG, "spring", {"circle_min_size": 9})
    changed = await programs.change_program(mem.context, ORG, "spring", {"request_ttl_hours": 48})
    assert (changed.version, changed.request_ttl_hours, changed.enrolled_mentees) == (2, 48, ["ada"])
    with pytest.raises(NotFound):
        await programs.change_program(mem.context, ORG, "nope", {"name": "Nope"})

    built_in = await programs.change_program(mem.context, ORG, "open", {"request_ttl_hours": 24})
    assert (built_in.version, built_in.created_at, built_in.name) == (2, START, "Open mentoring")
    assert (await programs.change_program(mem.context, ORG, "open", {"name": "All"})).version == 3
    seen = [programs.as_seen_by(Caller(ORG, "ada"), p) for p in await programs.programs_of(mem.context, ORG)]
    assert [(p.program_id, p.enrolled_mentees) for p in seen] == [("open", []), ("spring", [])]

    await add_mentee(mem, "bob")
    with pytest.raises(NotAllowed, match="bob is not enrolled"):
        await requests.join(mem.context, ORG, "bob", "spring")


async def test_joining_a_program_with_two_mentors_per_mentee_gives_each_focus_area_its_own_mentor(
    mem: InMemoryMatching,
) -> None:
    await add_program(mem, "multi", mentors_per_mentee=2)
    await add_mentee(mem, "ada", skills_wanted=["python", "leadership"], level="junior")
    expert = {"python": "expert", "leadership": "expert"}
    await add_mentor(
        mem, "mira", free=2, skills_offered=["python", "leadership"], level="lead", skill_levels=expert
    )
    await add_mentor(mem, "sam", skills_offered=["leadership"], level="senior")
    seat = await requests.join(mem.context, ORG, "ada", "multi")
    assert seat.status is SeatStatus.PAIRED
    focus = {(s.focus, s.pair.mentor_id) for s in await mem.context.reads.seats_of(ORG, "ada") if s.pair}
    assert focus == {("python", "mira"), ("leadership", "sam")}
    assert {e.focus_area for e in mem.published(PairCreated)} == {"python", "leadership"}


async def test_circles_are_formed_from_waiting_mentees_once_and_announced(mem: InMemoryMatching) -> None:
    await add_program(mem, "circles", type="circles", continuous=False)
    levels = ["junior", "junior", "mid", "senior", "senior"]
    for k, level in enumerate(levels):
        await add_mentee(mem, f"p{k}", program_id="circles", level=level, skills_wanted=["leadership"])
    formed, waiting = await circles.form_program_circles(mem.context, ORG, "circles")
    assert ([sorted(c.member_ids) for c in formed], waiting) == ([[f"p{k}" for k in range(5)]], [])
    assert {s.status for s in await mem.context.reads.circle_members(ORG, "circles")} == {
        SeatStatus.IN_CIRCLE
    }
    assert (await circles.form_program_circles(mem.context, ORG, "circles")) == ([], [])
    (announced,) = mem.published(CircleFormed)
    assert announced.circle_id == formed[0].circle_id
    mine = await circles.circles_for(mem.context, Caller(ORG, "p3"), None)
    assert [c.circle_id for c in mine] == [formed[0].circle_id]
    with pytest.raises(Refused):
        await circles.form_program_circles(mem.context, ORG, "open")


async def test_a_run_not_keeping_pairs_moves_only_what_the_optimum_changes(mem: InMemoryMatching) -> None:
    await add_program(mem, "p2", continuous=False)
    await add_mentee(mem, "ada", program_id="p2", skills_wanted=["python"])
    await add_mentor(mem, "sam", skills_offered=["sql"], level="lead")
    await add_mentor(mem, "mira", skills_offered=["python"], level="lead")
    # ada was paired with sam (sql) before mira came; bob waits for sql.
    program = await programs.require_program(mem.context, ORG, "p2")
    ada = await mem.seat(ORG, "ada")
    await mem.mentors.change(mentor_key(ORG, "sam"), lambda m: m.reserve_place(ada.id, START))
    await mem.seats.change(ada.id, lambda s: s.offer(program, Match("sam", 0.3), START))
    await add_mentee(mem, "bob", program_id="p2", skills_wanted=["sql"])

    run = await cohort_runs.run_cohort_now(
        mem.context, ORG, "p2", PolicyOverrides(), keep_existing_pairs=False
    )
    assert {(p["mentee_id"], p["mentor_id"], p["change"]) for p in run.pairs} == {
        ("ada", "mira", "moved"),
        ("bob", "sam", "new"),
    }
    assert run.run.applied is not None
    assert (run.run.applied.made, run.run.applied.moved, run.run.applied.skipped) == (1, 1, [])
    assert [(e.mentee_id, e.reason) for e in mem.published(PairEnded)] == [("ada", PairEndReason.OTHER)]
    assert {
        (m.person_id, m.free_slots) for m in [await mem.mentor(ORG, "sam"), await mem.mentor(ORG, "mira")]
    } == {
        ("sam", 0),
        ("mira", 0),
    }
    stored = await cohort_runs.stored_run(mem.context, ORG, run.run.run_id)
    assert stored.applied == run.run.applied
    with pytest.raises(NotFound):
        await cohort_runs.stored_run(mem.context, "other-org", run.run.run_id)


async def test_an_erased_mentee_a_run_skipped_is_named_there_by_a_pseudonym(mem: InMemoryMatching) -> None:
    """The default simulation found an erased person still named in `match_runs`: the audit of an
    applied run lists the mentees it skipped, and the erasure did not look there."""
    await add_program(mem, "p2", continuous=False)
    await add_mentee(mem, "ada", program_id="p2", skills_wanted=["python"])
    await add_mentee(mem, "bob", program_id="p2", skills_wanted=["python"])
    await add_mentor(mem, "mira", skills_offered=["python"], level="lead")
    run = await cohort_runs.run_cohort_now(
        mem.context, ORG, "p2", PolicyOverrides(), keep_existing_pairs=True
    )
    assert run.run.applied is not None

    def skipped_both(stored: MatchRun) -> list[Emitted]:
        assert stored.applied is not None
        stored.applied = stored.applied.model_copy(update={"skipped": ["ada", "bob"]})
        return []

    await mem.runs.change(run.run.id, skipped_both)  # as when their seats changed since the run
    await erasure.forget_person(mem.context, ORG, "ada")

    stored = await cohort_runs.stored_run(mem.context, ORG, run.run.run_id)
    assert stored.applied is not None
    assert stored.applied.skipped == [pseudonym(ORG, "ada"), "bob"]
    assert '"ada"' not in json.dumps(list(mem.runs.documents.values()), default=str)


async def test_an_erased_person_leaves_the_invitation_lists_of_programs(mem: InMemoryMatching) -> None:
    invited = ProgramSettings(
        name="Invited",
        enrollment="invite",  # type: ignore[arg-type]
        enrolled_mentees=["ada", "bob"],
        enrolled_mentors=["ada"],
    )
    await programs.create_program(mem.context, ORG, "invited", invited)
    await erasure.forget_person(mem.context, ORG, "ada")
    program = await programs.require_program(mem.context, ORG, "invited")
    assert (program.enrolled_mentees, program.enrolled_mentors) == (["bob"], [])
    assert '"ada"' not in json.dumps(list(mem.programs.documents.values()), default=str)


async def test_an_erased_person_named_only_in_another_seat_s_audit_leaves_it(mem: InMemoryMatching) -> None:
    """The default simulation found an erased mentor still named in a mentee's seat: an admin had
    rejected a proposal of him (the audit keeps whom it was about), and the erasure looked for
    seats naming him everywhere but there."""
    rejected = AuditEntry(at=START, by="adm", action="proposal_rejected", mentor_id="mira", note="not now")
    await add_mentee(mem, "ada", skills_wanted=["python"], audit=[rejected])
    await add_mentor(mem, "mira", skills_offered=["python"])
    await erasure.forget_person(mem.context, ORG, "mira")
    seat = await mem.seats.get(seat_key(ORG, "ada"))
    assert seat is not None
    assert [(entry.mentor_id, entry.by, entry.note) for entry in seat.audit] == [(ERASED, "adm", None)]
    await erasure.forget_person(mem.context, ORG, "adm")  # the admin who decided, erased in turn
    seat = await mem.seats.get(seat_key(ORG, "ada"))
    assert seat is not None
    assert [(entry.mentor_id, entry.by) for entry in seat.audit] == [(ERASED, ERASED)]
    assert '"mira"' not in json.dumps(list(mem.seats.documents.values()), default=str)
