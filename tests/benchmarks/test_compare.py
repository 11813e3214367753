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
    # records/s and CPU per record each variant's runs give, in turn (the first is the warm-up's)
    figures = {"a": iter([(50.0, 9.0), (100.0, 1.0), (110.0, 1.0), (90.0, 1.0)]),
               "b": iter([(50.0, 9.0), (120.0, 0.9), (121.0, 0.9), (117.0, 0.9)])}  # fmt: skip

    async def run(
        variant: compare.Variant, name: str, records: int, servers: object, replicas: int
    ) -> tuple[float, float]:
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
    # b against a, round by round: 1.20, 1.10, 1.30 -> the median 1.20; CPU 0.9 -> x0.900
    assert "records/s x1.200 (1.20, 1.10, 1.30)" in last
    assert "CPU per record x0.900" in last


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
    assert await compare._run(variant, "matching", 20000, servers, 2) == (3000.0, pytest.approx(0.45))
    assert asked["replicas"] == 2
    assert await compare._run(variant, "matching", 20000, servers, 1) == (3000.0, 0.2)
