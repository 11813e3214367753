"""The benchmark's wait for a consumer group to catch up asks again when the broker cannot answer
yet (a fresh broker on a busy machine had no coordinator for the group, and `make bench` died on
it), and still gives up on other errors and at its deadline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError, UnknownError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from throughput import kafka_lag

pytestmark = pytest.mark.fast


def _answers(monkeypatch: pytest.MonkeyPatch, answers: list[int | Exception]) -> list[int | Exception]:
    left: Iterator[int | Exception] = iter(answers)
    asked: list[int | Exception] = []

    class Answering:
        def __init__(self, bootstrap: str, group: str, topics: object) -> None:
            pass

        async def __aenter__(self) -> Answering:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def lag(self) -> int:
            answer = next(left)
            asked.append(answer)
            if isinstance(answer, Exception):
                raise answer
            return answer

    monkeypatch.setattr(kafka_lag, "GroupLag", Answering)
    monkeypatch.setattr(kafka_lag.asyncio, "sleep", _no_wait)
    return asked


async def _no_wait(seconds: float) -> None:
    return None


async def test_a_group_without_a_coordinator_yet_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    not_yet = GroupCoordinatorNotAvailableError()
    asked = _answers(monkeypatch, [not_yet, 40, not_yet, 0])
    await kafka_lag.until_caught_up("kafka:9092", "g", ["t"], timeout=60)
    assert len(asked) == 4


async def test_other_errors_and_the_deadline_still_end_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    _answers(monkeypatch, [UnknownError()])
    with pytest.raises(UnknownError):
        await kafka_lag.until_caught_up("kafka:9092", "g", ["t"], timeout=60)
    _answers(monkeypatch, [GroupCoordinatorNotAvailableError()] * 3)
    with pytest.raises(GroupCoordinatorNotAvailableError):
        await kafka_lag.until_caught_up("kafka:9092", "g", ["t"], timeout=0)


async def test_a_group_still_behind_at_its_deadline_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _answers(monkeypatch, [40, 40, 40])
    with pytest.raises(TimeoutError, match="still 40 records behind"):
        await kafka_lag.until_caught_up("kafka:9092", "g", ["t"], timeout=0)
    assert asked == [40]
