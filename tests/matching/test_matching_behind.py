"""Continuous matching runs behind the consumer: a record is committed once its facts are stored,
and the engine run it asked for follows. What a stop or a crash cuts short between the two is found
again from the stored waiting seats, by the waiting-seats sweep the service runs at start and then
every `matching_waiting_sweep_seconds`."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from matching.domain.mentor import mentor_key
from matching.domain.seat import seat_key
from matching.use_cases.continuous import match_waiting_orgs
from mentorship_schemas import PairCreated, ProfileRegistered
from mentorship_schemas.events import PersonRole

from tests.matching.conftest import Matching, candidate
from tests.matching.flow_support import WAIT, mentee, processed, publish_as
from tests.waiting import eventually


async def test_seats_stored_by_a_process_that_stopped_before_its_run_are_paired_by_the_sweep(
    matching: Matching,
) -> None:
    org = matching.org
    # What a process left when it committed the registrations and was killed before matching them.
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python"]),
            candidate(org, "bob", "mentee", skills_wanted=["python"]),
            candidate(org, "grace", "mentor", skills_offered=["python"], capacity=2),
        ]
    )
    matching.wrote_behind_its_back()
    assert (await mentee(matching, "ada"))["status"] == "waiting"

    assert await match_waiting_orgs(dataclasses.replace(matching.context, behind=True)) == 0
    assert matching.context.coalescer is not None
    await asyncio.wait_for(matching.context.coalescer.settled(), WAIT)

    for person in ("ada", "bob"):
        seat = await mentee(matching, person)
        assert (seat["status"], seat["pair"]["mentor_id"]) == ("paired", "grace"), person
    created = await matching.events(PairCreated, until=lambda events: len(events) >= 2)
    assert sorted(event["mentee_id"] for event in created) == ["ada", "bob"]


async def test_a_registration_is_committed_before_its_run_and_the_pair_follows(matching: Matching) -> None:
    org = matching.org
    await matching.candidates.insert_one(candidate(org, "grace", "mentor", skills_offered=["python"]))
    matching.wrote_behind_its_back()
    coalescer = matching.context.coalescer
    assert coalescer is not None
    # A run of the org that lasts until released: the registration's run can only come after it.
    started, release = asyncio.Event(), asyncio.Event()

    async def held_run() -> None:
        started.set()
        await release.wait()

    holding = asyncio.create_task(coalescer.run(org, held_run))
    await asyncio.wait_for(started.wait(), WAIT)
    registered = ProfileRegistered(
        org_id=org, version=1, person_id="ada", roles=[PersonRole.MENTEE], display_name="Ada",
        email="ada@example.com", skills_wanted=["python"], languages=["en"],
    )  # fmt: skip
    (event_id,) = await publish_as(matching, "profiles", registered)

    async def in_ledger() -> bool:
        return await matching.runtime.db["processed_events"].find_one({"_id": event_id}) is not None

    await eventually(in_ledger, timeout=WAIT, what="the registration to be processed")
    assert (await mentee(matching, "ada"))["status"] == "waiting", "processed before any run for it"

    release.set()
    await holding
    await processed(matching, event_id)  # the run it asked for is done too
    assert (await mentee(matching, "ada"))["pair"]["mentor_id"] == "grace"


async def test_a_place_a_crash_left_taken_by_no_seat_goes_back_at_the_sweep_after_the_grace(
    matching: Matching,
) -> None:
    org, now = matching.org, matching.clock.now()
    # grace's two places: one a killed process reserved 11 minutes ago and never wrote an offer
    # for, one an offer under way right now (reserved a minute ago, its seat not yet written).
    places = [
        {"seat_id": seat_key(org, "lost"), "taken_at": now - timedelta(minutes=11)},
        {"seat_id": seat_key(org, "in-flight"), "taken_at": now - timedelta(minutes=1)},
    ]
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", skills_wanted=["python"]),
            candidate(org, "grace", "mentor", skills_offered=["python"], capacity=2, places=places),
        ]
    )
    matching.wrote_behind_its_back()

    assert await match_waiting_orgs(dataclasses.replace(matching.context, behind=True)) == 0
    assert matching.context.coalescer is not None
    await asyncio.wait_for(matching.context.coalescer.settled(), WAIT)

    assert (await mentee(matching, "ada"))["pair"]["mentor_id"] == "grace", "the freed place was offered"
    grace = await matching.candidates.find_one({"_id": mentor_key(org, "grace")})
    assert grace is not None
    assert sorted(place["seat_id"] for place in grace["places"]) == sorted(
        [seat_key(org, "ada"), seat_key(org, "in-flight")]
    ), "the place within the grace period stays"
