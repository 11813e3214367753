"""The bench's baseline is measured on a warm broker, as the services' floods are: a flood of as many
records goes through the raw loop first, not measured (on a broker just started, the first flood
of 20,000 ran 16,723-16,885 records/s and the next ones 19,536-20,693)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from throughput import services

from tests.conftest import Infra


async def test_the_passthrough_is_measured_after_a_flood_that_is_not(
    infra: Infra, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    produced: list[tuple[int, bool]] = []  # each produce: its records, and whether it was measured
    measuring = False
    produce, pace = services.produce, services._pace

    async def counted(bootstrap: str, records: list[Any]) -> None:
        produced.append((len(records), measuring))
        await produce(bootstrap, records)

    async def measured(*args: Any, **kwargs: Any) -> float:
        nonlocal measuring
        measuring = True
        return await pace(*args, **kwargs)

    monkeypatch.setattr(services, "produce", counted)
    monkeypatch.setattr(services, "_pace", measured)
    floods = await services.passthrough(infra.kafka_bootstrap_servers, 300, tmp_path, {}, floods=2)
    assert produced == [(300, False), (300, True), (300, True)]
    assert len(floods) == 2
    for per_s, cpu in floods:
        assert per_s > 0
        assert set(cpu) == {"loop", "bench"}
