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


async def test_the_headline_shape_is_the_median_of_its_floods_and_the_other_shape_one_flood(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One flood of a few seconds moves with whatever else runs on the machine: the headline's
    figure is its median flood (its CPU with it), and every flood stays in the figures."""
    monkeypatch.delenv("BENCH_REPLICAS", raising=False)
    monkeypatch.delenv("BENCH_FLOODS", raising=False)
    bench = importlib.reload(run)
    assert bench.FLOODS == 3
    paces = iter([3_000.0, 5_000.0, 4_000.0, 2_000.0])
    floods: list[int] = []

    async def pace(
        name: str, bootstrap: str, mongo_url: str, count: int, *args: object, replicas: int = 1
    ) -> tuple[float, float, dict[str, float]]:
        floods.append(replicas)
        per_s = next(paces)
        return per_s, 100.0, {"matching": per_s / 10_000}

    monkeypatch.setattr(services, "service_pace", pace)
    rss: dict[str, float] = {}
    headline = await bench._shape(
        "matching", 2, "kafka:9092", "mongodb://store", Path("."), {}, 20_000.0, rss
    )
    assert floods == [2, 2, 2]
    assert headline == {
        "per_s": 4000,
        "ratio": 0.2,
        "cpu_ms_per_record": {"matching": 0.4},  # the median flood's
        "floods": [
            {"per_s": 3000, "ratio": 0.15},
            {"per_s": 5000, "ratio": 0.25},
            {"per_s": 4000, "ratio": 0.2},
        ],
    }
    one = await bench._shape("matching", 1, "kafka:9092", "mongodb://store", Path("."), {}, 20_000.0, rss)
    assert floods == [2, 2, 2, 1]
    assert one == {"per_s": 2000, "ratio": 0.1, "cpu_ms_per_record": {"matching": 0.2}}
    assert rss == {"matching": 100.0}


def test_of_an_even_number_of_floods_the_median_is_the_slower_of_the_middle_two() -> None:
    assert run.median_flood([(4.0, "a"), (1.0, "b"), (3.0, "c"), (2.0, "d")]) == (2.0, "d")
    assert run.median_flood([(7.0, "only")]) == (7.0, "only")
