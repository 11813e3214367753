"""The simulation's checks judge what the platform did, not what the simulation itself did: a
request the platform made after an escalation counts as its follow-up, even once the mentee has
seen it in their list of requests (the default run's checker counted it as the mentee's own); a
mentor who stopped mentoring keeps their current mentees, and their load still counts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from simulation.event_checks import escalations_end_in_match_or_notice
from simulation.invariants import (
    erased_persons_partner_told,
    mentor_load_consistent,
    no_active_relationship_for_erased_person,
)
from simulation.observe import Record, Snapshot
from simulation.org import Person
from simulation.programs import ProgramPlan
from simulation.world import PairState, World

AT = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _world() -> World:
    settings = {"approval": "mentor_acceptance", "continuous": False}
    plan = ProgramPlan("ask-a-mentor", settings, 0.1, requests=True)
    world = World(random.Random(1), 1, {}, {plan.program_id: plan}, {"ada": plan.program_id}, AT)
    world.journal.escalations.append(
        {
            "pair": "p1",
            "mentee": "ada",
            "mentor": "bo",
            "program": plan.program_id,
            "at": AT,
            "rematching": True,
        }
    )
    return world


def _request(request_id: str) -> Record:
    time = (AT + timedelta(minutes=1)).isoformat()
    data = {"request_id": request_id, "mentee_id": "ada", "mentor_id": "cy"}
    return Record("mentorship.matching.v1", "MentorshipRequested", "e1", data, {"ce_time": time})


@pytest.mark.fast
def test_the_platforms_request_after_an_escalation_is_its_follow_up_even_once_listed() -> None:
    world = _world()
    world.journal.requests["r-platform"] = {"mentee": "ada", "mentor": "cy"}  # seen in her list
    verdict = escalations_end_in_match_or_notice(Snapshot(records=[_request("r-platform")]), world, 3.0)
    assert verdict.held, verdict.evidence


@pytest.mark.fast
def test_a_request_the_mentee_made_herself_is_not_the_platforms_follow_up() -> None:
    world = _world()
    world.journal.requests["r-hers"] = {"mentee": "ada", "mentor": "cy"}
    world.journal.asked.add("r-hers")
    verdict = escalations_end_in_match_or_notice(Snapshot(records=[_request("r-hers")]), world, 3.0)
    assert not verdict.held


def _stores(roles: list[str], profiles_pairs: list[str], matching_pairs: int) -> Snapshot:
    """Profiles' person "bo", matching's paired mentees of bo, sessions' active relationships."""
    person = {"person_id": "bo", "roles": roles, "mentor_capacity": 2, "active_pair_ids": profiles_pairs}
    mentees = [
        {"role": "mentee", "status": "paired", "pair": {"pair_id": f"p{n}", "mentor_id": "bo"}}
        for n in range(matching_pairs)
    ]
    relationships = [
        {"_id": f"p{n}", "status": "active", "kind": "pair", "mentor_id": "bo"} for n in range(matching_pairs)
    ]
    documents = {
        "profiles.people": [person],
        "matching.candidates": mentees,
        "sessions.relationships": relationships,
    }
    return Snapshot(documents=documents)


def _world_with_bo() -> World:
    world = _world()
    world.people["bo"] = Person("bo", "eng", "senior", None, "UTC", "Berlin", ["en"], ["mentee"])
    return world


@pytest.mark.fast
def test_a_former_mentor_keeps_the_load_of_the_pairs_still_running() -> None:
    verdict = mentor_load_consistent(_stores(["mentee"], ["p0"], 1), _world_with_bo())
    assert verdict.held, verdict.evidence


@pytest.mark.fast
def test_a_former_mentor_whose_pair_profiles_forgot_is_a_disagreement() -> None:
    verdict = mentor_load_consistent(_stores(["mentee"], [], 1), _world_with_bo())
    assert not verdict.held
    assert verdict.evidence == ["bo: profiles 0, matching 1, sessions 1 mentees"]


@pytest.mark.fast
def test_a_mentor_above_capacity_is_reported() -> None:
    verdict = mentor_load_consistent(_stores(["mentor"], ["p0", "p1", "p2"], 3), _world_with_bo())
    assert verdict.evidence == ["bo: 3 mentees above capacity 2"]


def _world_with_an_erased_circle_member() -> World:
    """cy was erased while in circle c1 (with ada, bo and di) and in pair p1 (with ed)."""
    world = _world()
    for pair_id, kind, members in [("c1", "circle", ["ada", "bo", "cy", "di"]), ("p1", "pair", ["cy", "ed"])]:
        world.pairs[pair_id] = PairState(
            pair_id, "prog", kind, members, None, None, 1.0, random.Random(1), ended=True
        )
    world.journal.erasures.append(
        {
            "person": "cy",
            "at": AT,
            "why": "test",
            "pairs": ["c1", "p1"],
            "partners": ["ada", "bo", "di", "ed"],
        }
    )
    return world


@pytest.mark.fast
def test_a_circle_carries_on_without_an_erased_member_but_must_not_list_her() -> None:
    """The default run at c01fac5 flagged a circle that had rightly carried on without an erased
    member, because it had been one of her "pairs"."""
    world = _world_with_an_erased_circle_member()
    without = {"_id": "c1", "kind": "circle", "status": "active", "participant_ids": ["ada", "bo", "di"]}
    held = no_active_relationship_for_erased_person(Snapshot({"sessions.relationships": [without]}), world)
    assert held.held, held.evidence
    listing = {**without, "participant_ids": ["ada", "bo", "cy", "di"]}
    pair = {"_id": "p1", "kind": "pair", "status": "active", "participant_ids": ["ed"]}
    broken = no_active_relationship_for_erased_person(
        Snapshot({"sessions.relationships": [listing, pair]}), world
    )
    assert len(broken.evidence) == 2  # the circle still lists her; her pair is still active


@pytest.mark.fast
def test_an_erased_person_s_pair_partner_must_be_told_not_her_circle_s_members() -> None:
    world = _world_with_an_erased_circle_member()
    verdict = erased_persons_partner_told(Snapshot({"notifications.notifications": []}), world)
    assert (verdict.checked, verdict.evidence) == (1, ["ed was not told that cy left pair p1 (test)"])
    told = {"recipient_id": "ed", "created_at": AT, "kind": "pair_ended", "subject_id": "p1"}
    verdict = erased_persons_partner_told(Snapshot({"notifications.notifications": [told]}), world)
    assert verdict.held, verdict.evidence
