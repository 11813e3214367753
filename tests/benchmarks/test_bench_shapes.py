"""`make bench` measures each service as one process, then in the shape the Helm chart deploys."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import run
from throughput import services

CHART_VALUES = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "mentorship" / "values.yaml"

pytestmark = pytest.mark.fast


def test_the_bench_measures_one_process_then_the_charts_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    values = yaml.safe_load(CHART_VALUES.read_text())
    monkeypatch.delenv("BENCH_REPLICAS", raising=False)
    assert [1, values["serviceDefaults"]["replicas"]] == importlib.reload(run).REPLICAS
    for name in services.MAIN_EVENTS:  # no service of part 2 deploys another number of replicas
        assert "replicas" not in (values["services"].get(name) or {})


async def test_each_service_warms_up_in_its_headline_shape_before_it_is_measured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the passthrough is measured after a flood that is not counted, so is each service."""
    monkeypatch.delenv("BENCH_REPLICAS", raising=False)
    monkeypatch.delenv("BENCH_WARM_UP", raising=False)
    bench = importlib.reload(run)
    assert bench.WARM_UP == bench.RECORDS
    floods: list[tuple[str, int, int]] = []

    async def pace(
        name: str, bootstrap: str, mongo_url: str, count: int, *args: object, replicas: int = 1
    ) -> tuple[float, float, dict[str, float]]:
        floods.append((name, count, replicas))
        return 2_000.0, 100.0, {}

    monkeypatch.setattr(services, "service_pace", pace)
    figures = await bench._warm_up("matching", "kafka:9092", "mongodb://store", Path("."), {}, 20_000.0)
    assert floods == [("matching", bench.RECORDS, bench.REPLICAS[-1])]
    assert figures == {"records": bench.RECORDS, "replicas": bench.REPLICAS[-1], "per_s": 2000, "ratio": 0.1}

    monkeypatch.setenv("BENCH_WARM_UP", "0")
    bench = importlib.reload(run)
    assert await bench._warm_up("matching", "kafka:9092", "mongodb://store", Path("."), {}, 20_000.0) is None
    assert len(floods) == 1
