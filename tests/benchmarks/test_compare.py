"""`benchmarks/compare.py`: variants take turns after an uncounted warm-up, neither always first,
and each is compared round by round with the first."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import compare

pytestmark = pytest.mark.fast


async def test_variants_alternate_after_a_warm_up_and_are_compared_round_by_round(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    turns: list[str] = []
    # records/s, the service's CPU per record and every process's, each variant's runs give in
    # turn (the first is the warm-up's)
    figures = {
        "a": iter([(50.0, 9.0, 9.5), (100.0, 1.0, 2.0), (110.0, 1.0, 2.0), (90.0, 1.0, 2.0)]),
        "b": iter([(50.0, 9.0, 9.5), (120.0, 0.9, 1.7), (121.0, 0.9, 1.6), (117.0, 0.9, 1.8)]),
    }

    async def run(
        variant: compare.Variant, name: str, records: int, servers: object, replicas: int
    ) -> tuple[float, float, float]:
        assert replicas == 2
        turns.append(variant.text)
        return next(figures[variant.text])

    async def topics(bootstrap: str) -> None:
        return None

    monkeypatch.setattr(compare, "_run", run)
    monkeypatch.setattr(compare, "ensure_topics", topics)
    variants = [compare.Variant.parse("a"), compare.Variant.parse("b")]
    await compare.compare("sessions", 3, 1000, variants, compare.Servers("", "", Path("."), {}), replicas=2)

    assert turns == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then A B, B A, A B
    assert variants[0].per_s == [100.0, 110.0, 90.0]  # the warm-up is not counted
    last = capsys.readouterr().out.splitlines()[-1]
    # b against a, round by round: 1.20, 1.10, 1.30 -> the median 1.20; CPU 0.9 -> x0.900; every
    # process's 0.85, 0.80, 0.90 -> x0.850
    assert "records/s x1.200 (1.20, 1.10, 1.30)" in last
    assert "CPU per record x0.900 (all processes x0.850)" in last
    assert "(all processes 1.700)" in last


def test_a_variant_names_an_interpreter_and_settings() -> None:
    this = compare.Variant.parse("-,CONSUMER_LANES=2,LOG_LEVEL=INFO")
    assert this.python == sys.executable
    assert this.settings == {"CONSUMER_LANES": "2", "LOG_LEVEL": "INFO"}
    other = compare.Variant.parse("../base/.venv/bin/python")
    assert (other.python, other.settings) == ("../base/.venv/bin/python", {})


async def test_a_service_run_as_replicas_counts_the_cpu_of_them_all(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, object] = {}

    async def pace(name: str, *args: object, **kwargs: object) -> tuple[float, float, dict[str, float]]:
        asked.update(kwargs)
        return 3000.0, 500.0, {"matching": 0.2, "matching #2": 0.25, "store": 0.1, "bench": 0.02}

    monkeypatch.setattr(compare.services, "service_pace", pace)
    servers = compare.Servers("", "", Path("."), {})
    variant = compare.Variant.parse("-")
    # The service's CPU (its replicas together) and every process's (the store and the bench too).
    assert await compare._run(variant, "matching", 20000, servers, 2) == (
        3000.0,
        pytest.approx(0.45),
        pytest.approx(0.57),
    )
    assert asked["replicas"] == 2
    assert await compare._run(variant, "matching", 20000, servers, 1) == (3000.0, 0.2, pytest.approx(0.57))
