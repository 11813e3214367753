"""The engine's runs in a process of their own: the same pairs as in a thread, small runs kept in a
thread, each mentor's embedded profile sent to the process once, a dead process replaced without
losing the run, and nothing left running after close or after the service is killed."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matching import engine_goals
from matching.domain.cohort import MatchProfile
from matching.domain.cohort_run import continuous_pairs, run_cohort
from matching.domain.fairness import GroupFloor
from matching.domain.programs import MatchingPolicy
from matching.domain.semantic import Passage, PassageKind, SemanticProfile
from matching.domain.semantic_goals import SemanticGoals
from matching.engine_runner import EngineInThreads, EngineProcess

from tests.waiting import eventually

pytestmark = pytest.mark.fast
ORG = "acme"


def cohort() -> tuple[list[MatchProfile], list[MatchProfile]]:
    skills = ["python", "sql", "design", "finance"]
    mentees = [
        MatchProfile(f"mentee-{n}", ORG, skills_wanted=(skills[n % 4],), level="junior") for n in range(40)
    ]
    offered = [(skills[n % 4], skills[(n + 1) % 4]) for n in range(15)]
    mentors = [
        MatchProfile(f"mentor-{n}", ORG, skills_offered=two, level="senior", free_capacity=2)
        for n, two in enumerate(offered)
    ]
    return mentees, mentors


def embedded(person_id: str, kind: PassageKind, rng: np.random.Generator) -> SemanticProfile:
    vectors = rng.normal(size=(2, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return SemanticProfile(person_id, (Passage(kind, "first"), Passage(kind, "second")), vectors)


def goals_of(mentees: list[MatchProfile], mentors: list[MatchProfile]) -> SemanticGoals:
    rng = np.random.default_rng(7)
    return SemanticGoals(
        {p.person_id: embedded(p.person_id, PassageKind.GOAL, rng) for p in mentees},
        {p.person_id: embedded(p.person_id, PassageKind.EXPERIENCE, rng) for p in mentors},
        8,
    )


def pairs_of(found: list[Any]) -> list[tuple[str, str, int, Any]]:
    return [(p.mentee_id, p.mentor_id, p.score, p.reasons) for p in found]


@pytest.fixture
async def engine() -> AsyncIterator[EngineProcess]:
    engine = EngineProcess(in_process_from_pairs=1000)
    await engine.start()
    yield engine
    await engine.close()


async def test_a_run_in_the_engine_process_pairs_as_a_run_in_a_thread(engine: EngineProcess) -> None:
    mentees, mentors = cohort()
    managers, previous = {"mentee-3": "mentor-3"}, [("mentee-1", "mentor-1")]
    args = (MatchingPolicy(org_id=ORG), mentees, mentors, managers, previous, None)
    in_process = await engine.call(len(mentees) * len(mentors), continuous_pairs, *args)
    in_thread = await EngineInThreads().call(len(mentees) * len(mentors), continuous_pairs, *args)

    assert len(in_process) == 30  # every place taken: 15 mentors, 2 each
    assert [(p.mentee_id, p.mentor_id, p.score, p.reasons) for p in in_process] == [
        (p.mentee_id, p.mentor_id, p.score, p.reasons) for p in in_thread
    ]
    assert ("mentee-3", "mentor-3") not in {(p.mentee_id, p.mentor_id) for p in in_process}
    assert await engine.call(1000, os.getpid) != os.getpid()


async def test_an_audited_cohort_run_with_a_fairness_floor_comes_back_whole(engine: EngineProcess) -> None:
    mentees, mentors = cohort()
    floor = GroupFloor(member_ids=frozenset(f"mentee-{n}" for n in range(0, 40, 2)), min_match_rate=0.9)
    policy = MatchingPolicy(org_id=ORG)

    in_process = await engine.call(1000, run_cohort, policy, mentees, mentors, group_floor=floor)
    in_thread = run_cohort(policy, mentees, mentors, group_floor=floor)

    assert in_process.summary() == in_thread.summary()
    assert in_process.matched == 30
    assert in_process.fairness == in_thread.fairness
    assert in_process.fairness
    assert sorted(u.mentee_id for u in in_process.unmatched) == sorted(
        u.mentee_id for u in in_thread.unmatched
    )


def parcel(sent: engine_goals.MentorsSent, goals: SemanticGoals) -> engine_goals.GoalsParcel:
    parcelled = sent.parcel(goals)
    assert isinstance(parcelled, engine_goals.GoalsParcel)
    return parcelled


def test_each_mentor_profile_is_sent_once_until_a_new_generation() -> None:
    mentees, mentors = cohort()
    goals = goals_of(mentees, mentors)
    sent = engine_goals.MentorsSent()
    changed = dict(goals.mentors)
    changed["mentor-3"] = embedded("mentor-3", PassageKind.EXPERIENCE, np.random.default_rng(1))

    first = parcel(sent, goals)
    again = parcel(sent, goals)
    after_a_change = parcel(sent, SemanticGoals(goals.mentees, changed, 8))
    sent.forget()
    after_forgetting = parcel(sent, goals)

    assert sorted(first.goals.mentors) == sorted(goals.mentors)
    assert again.goals.mentors == {}
    assert [key for key, _ in again.mentors] == list(goals.mentors)
    assert list(after_a_change.goals.mentors) == ["mentor-3"]
    assert sorted(after_forgetting.goals.mentors) == sorted(goals.mentors)
    assert after_forgetting.generation > first.generation
    assert again.goals.mentees is goals.mentees  # mentees go whole: a run's are mostly new ones
    assert sent.parcel(None) is None


def test_the_engine_process_holds_no_more_mentors_than_its_limit() -> None:
    mentees, mentors = cohort()
    goals = goals_of(mentees, mentors)
    sent = engine_goals.MentorsSent(limit=20)

    first = parcel(sent, SemanticGoals(goals.mentees, dict(list(goals.mentors.items())[:10]), 8))
    second = parcel(sent, goals)  # 15 mentors more than the 10 held would pass 20: a new generation

    assert second.generation > first.generation
    assert len(second.goals.mentors) == 15


def _goals_received(goals: SemanticGoals) -> list[tuple[str, list[str], list[float]]]:
    return [
        (key, [p.text for p in profile.passages], profile.direction().tolist())
        for key, profile in sorted(goals.mentors.items())
    ]


def _forget_held_mentors() -> int:
    held = len(engine_goals._held)
    engine_goals._held.clear()
    return held


async def test_runs_in_the_engine_process_score_on_mentors_sent_once(engine: EngineProcess) -> None:
    mentees, mentors = cohort()
    goals = goals_of(mentees, mentors)
    policy = MatchingPolicy(org_id=ORG)
    args = (policy, mentees, mentors, {}, [], goals)
    in_thread = pairs_of(continuous_pairs(*args))

    first = pairs_of(await engine.call(1000, continuous_pairs, *args))
    second = pairs_of(await engine.call(1000, continuous_pairs, *args))  # the mentors only named
    received = await engine.call(1000, _goals_received, goals)

    assert first == second == in_thread
    assert any(reasons for *_, reasons in first)
    assert received == _goals_received(goals)


async def test_a_run_whose_mentors_the_process_lost_is_sent_whole(engine: EngineProcess) -> None:
    mentees, mentors = cohort()
    goals = goals_of(mentees, mentors)
    args = (MatchingPolicy(org_id=ORG), mentees, mentors, {}, [], goals)
    await engine.call(1000, continuous_pairs, *args)

    assert await engine.call(1000, _forget_held_mentors) == len(mentors)
    again = pairs_of(await engine.call(1000, continuous_pairs, *args))

    assert again == pairs_of(continuous_pairs(*args))
    assert await engine.call(1000, _forget_held_mentors) == len(mentors)  # sent whole, held again


async def test_after_a_run_that_raised_every_mentor_is_sent_again(engine: EngineProcess) -> None:
    mentees, mentors = cohort()
    goals = goals_of(mentees, mentors)
    await engine.call(1000, _goals_received, goals)
    with pytest.raises(ZeroDivisionError):
        await engine.call(1000, _divide_by_zero, goals)

    assert sorted(parcel(engine._mentors_sent, goals).goals.mentors) == sorted(goals.mentors)


def _divide_by_zero(goals: SemanticGoals) -> float:
    return len(goals.mentors) / 0


def _threads_after_a_product() -> tuple[str | None, int]:
    """In the engine process: its BLAS setting, and its threads after a product large enough for
    OpenBLAS to share out (the goals component's, of a run of 2,000 mentees x 5,000 mentors)."""
    import numpy as np

    np.ones((2000, 384), dtype=np.float32) @ np.ones((384, 5000), dtype=np.float32)
    status = Path("/proc/self/status").read_text()
    threads = next(line for line in status.splitlines() if line.startswith("Threads:"))
    return os.environ.get("OPENBLAS_NUM_THREADS"), int(threads.split()[1])


def _frozen_objects() -> int:
    import gc

    return gc.get_freeze_count()


async def test_the_engine_process_keeps_what_its_imports_made_out_of_the_collectors_way(
    engine: EngineProcess,
) -> None:
    assert await engine.call(1000, _frozen_objects) > 10_000


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="counts threads in /proc")
async def test_the_engine_process_multiplies_on_its_own_thread(engine: EngineProcess) -> None:
    """The shortlist's two threads are the engine's parallelism: BLAS starts none of its own (they
    would spin for CPU the service, the store and the broker need)."""
    setting, threads = await engine.call(1000, _threads_after_a_product)
    assert setting == "1"
    assert threads == 2  # the run's and the one watching the service


def _huge_pages_after_a_large_array() -> tuple[str | None, int]:
    """In the engine process: numpy's huge page setting, and how much of the process's memory
    (kB) is in transparent huge pages while it holds a filled array of 64 MB."""
    import numpy as np

    scores = np.ones((4096, 2048))
    rollup = Path("/proc/self/smaps_rollup").read_text()
    huge = next(line for line in rollup.splitlines() if line.startswith("AnonHugePages:"))
    assert scores[-1, -1] == 1.0
    return os.environ.get("NUMPY_MADVISE_HUGEPAGE"), int(huge.split()[1])


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="reads /proc/self/smaps_rollup")
async def test_the_engine_process_keeps_its_arrays_in_ordinary_pages(engine: EngineProcess) -> None:
    """Huge pages cost a busy machine's runs seconds of system time (engine_runner.numpy_settings)."""
    setting, huge_kb = await engine.call(1000, _huge_pages_after_a_large_array)
    assert setting == "0"
    assert huge_kb == 0


async def test_a_run_scoring_few_pairs_stays_in_a_thread_of_the_service(engine: EngineProcess) -> None:
    assert await engine.call(999, os.getpid) == os.getpid()
    assert await engine.call(1000, os.getpid) != os.getpid()


async def test_an_engine_process_that_dies_is_replaced_and_the_run_still_made(engine: EngineProcess) -> None:
    first = await engine.call(1000, os.getpid)
    os.kill(first, signal.SIGKILL)

    mentees, mentors = cohort()
    policy = MatchingPolicy(org_id=ORG)
    goals = goals_of(mentees, mentors)
    await engine.call(1000, _goals_received, goals)  # the mentors held by the process killed below
    os.kill(await engine.call(1000, os.getpid), signal.SIGKILL)
    pairs = await engine.call(1000, continuous_pairs, policy, mentees, mentors, {}, [], goals)

    assert len(pairs) == 30
    assert await engine.call(1000, os.getpid) not in (first, os.getpid())


async def test_the_engine_process_starts_with_the_service_and_ends_at_close() -> None:
    engine = EngineProcess(in_process_from_pairs=0)
    await engine.start()
    started = multiprocessing.active_children()  # before any run
    worker = await engine.call(0, os.getpid)

    assert [process.pid for process in started] == [worker]

    await engine.close()

    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


SERVICE = """
import asyncio, os
from matching.engine_runner import EngineProcess

async def main():
    engine = EngineProcess(in_process_from_pairs=0)
    await engine.start()
    print(await engine.call(0, os.getpid), flush=True)
    await asyncio.sleep(600)

if __name__ == "__main__":
    asyncio.run(main())
"""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_the_engine_process_ends_when_its_service_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(textwrap.dedent(SERVICE))
    service = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=subprocess.PIPE)
    try:
        assert service.stdout is not None
        worker = int(await asyncio.wait_for(service.stdout.readline(), 60))
        assert running(worker)
    finally:
        service.kill()
        await service.wait()

    await eventually(lambda: not running(worker), timeout=10, what="the engine process to end")
