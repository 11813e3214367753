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
