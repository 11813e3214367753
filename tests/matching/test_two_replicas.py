"""Two replicas of matching on one store and one org: each keeps its own view, so one offers from a
view the other's pairs have made stale. Its offers lose their races, its view's mentors are read
again by difference, and nobody is paired twice or past a mentor's capacity; mentees the other
replica registered are found by a read of everything that changed, and left to that replica's
runs for a while."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from matching.app import MatchingSettings, create_app
from matching.org_views import OTHERS_GRACE_SECONDS
from matching.use_cases.context import Matching as MatchingContext
from matching.use_cases.continuous import match_org_now
from servicekit.clock import ManualClock
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra, drop_database
from tests.matching.conftest import candidate
from tests.matching.test_org_views import Clock


@pytest.fixture
async def replicas(infra: Infra) -> AsyncIterator[tuple[MatchingContext, MatchingContext]]:
    prefix = f"t{uuid.uuid4().hex[:8]}_"  # one database for both
    runtimes: list[ServiceRuntime] = []
    contexts: list[MatchingContext] = []
    for n in (1, 2):
        settings = MatchingSettings(
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            mongodb_url=infra.mongodb_url,
            consumer_start_from="latest",
            mongodb_database_prefix=prefix,
            consumer_group_id=f"test-matching-{n}-{uuid.uuid4().hex[:8]}",
            outbox_poll_seconds=0.1,
            matching_sweep_seconds=3600,
            matching_waiting_sweep_seconds=3600,
            matching_engine_process=False,
        )
        app = create_app(settings, ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
        runtime: ServiceRuntime = app.state.runtime
        await runtime.start()
        await runtime.first_sweeps()
        runtimes.append(runtime)
        contexts.append(app.state.matching)
    try:
        yield contexts[0], contexts[1]
    finally:
        for runtime in runtimes:
            await runtime.stop()
        await drop_database(infra, runtimes[0].db.name)


async def _match(context: MatchingContext, org: str) -> None:
    await match_org_now(context, org)
    assert context.coalescer is not None
    await context.coalescer.settled()  # the reruns after lost races


async def test_a_replica_whose_view_the_other_made_stale_pairs_nobody_twice(
    replicas: tuple[MatchingContext, MatchingContext],
) -> None:
    first, second = replicas
    org = f"org-{uuid.uuid4().hex[:8]}"
    candidates: Any = first.seats.collection
    mentors = [candidate(org, f"mentor-{n}", "mentor", skills_offered=["python"]) for n in range(5)]
    await candidates.insert_many(
        mentors + [candidate(org, f"mentee-{n}", "mentee", skills_wanted=["python"]) for n in range(3)]
    )
    views = second.reads.views  # type: ignore[attr-defined]
    clock = Clock()
    views.clock = clock
    await first.reads.org(org)
    await second.reads.org(org)  # both views: three waiting, five mentors with a place each
    reads: dict[str, int] = {"whole": 0, "by difference": 0, "mentors by difference": 0}
    whole, by_difference = views.load, views.load_changed

    async def read_whole(org_id: str) -> Any:
        reads["whole"] += 1
        return await whole(org_id)

    async def read_by_difference(org_id: str, known: Any, mentors_only: bool) -> Any:
        reads["mentors by difference" if mentors_only else "by difference"] += 1
        return await by_difference(org_id, known, mentors_only)

    views.load, views.load_changed = read_whole, read_by_difference

    await _match(first, org)  # the first replica pairs all three
    await _match(second, org)  # the second offers them again from its view: every offer loses
    await candidates.insert_many(
        [candidate(org, f"late-{n}", "mentee", skills_wanted=["python"]) for n in range(2)]
    )  # registered through the first replica, say: only a read of the store tells the second
    second.reads.refresh(org)
    await _match(second, org)  # the first replica's runs offer them: the second leaves them be
    late = {"org_id": org, "person_id": {"$in": ["late-0", "late-1"]}, "status": "waiting"}
    assert await candidates.count_documents(late) == 2
    clock.now += OTHERS_GRACE_SECONDS  # that replica may have stopped: the second offers them
    await _match(second, org)

    seats = [d async for d in candidates.find({"org_id": org, "role": "mentee"})]
    assert {d["person_id"]: d["status"] for d in seats} == {
        **{f"mentee-{n}": "paired" for n in range(3)},
        **{f"late-{n}": "paired" for n in range(2)},
    }
    paired_with = [d["pair"]["mentor_id"] for d in seats]
    assert len(set(paired_with)) == 5  # capacity 1 each: five different mentors
    stored = {d["person_id"]: d async for d in candidates.find({"org_id": org, "role": "mentor"})}
    assert {m: [p["seat_id"] for p in d["places"]] for m, d in stored.items()} == {
        d["pair"]["mentor_id"]: [d["_id"]] for d in seats
    }
    view = await second.reads.org(org)  # and the second's view agrees with the store
    assert {s.person_id: s.status.value for s in view.seats.values()} == {
        d["person_id"]: d["status"] for d in seats
    }
    assert {m.person_id: m.free_slots for m in view.mentors.values()} == dict.fromkeys(stored, 0)
    # After the lost races its mentors alone (the places taken there keep the seats that hold them
    # out of its rerun); after the refresh, everything that changed.
    assert reads == {"whole": 0, "by difference": 1, "mentors by difference": 1}
