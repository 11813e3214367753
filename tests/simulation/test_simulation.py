"""A small simulated programme on the whole platform (`make simulate` in little): about 60 people,
3 months by the shared clock (a step of 6 days), one fault of each kind (kill -9 of every service,
two at a time, the broker stopped, the store killed), then every invariant that spans the services.

The invariants that the known defects of issue 11 break are expected to break (strict xfail, named
after the defect): when a defect is fixed, its xfail turns into a failure that asks for the mark to
go, and from then on the invariant is demanded like the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulation import checks, report
from simulation.run import FEWER_OUTAGES, Options, Outcome, simulate

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# The invariants the known defects of issue 11 broke; all five are fixed, so none is expected to
# break any more (a defect found later goes here, named, until it is fixed).
KNOWN_DEFECTS: dict[str, str] = {}
# Found by the simulation, not on the list, and seen in some runs only (a race): expected
# to break sometimes, demanded strictly once fixed (move it then to the asserted ones).
INTERMITTENT: dict[str, str] = {
    "program_rules_hold": "found by the simulation: two concurrent matching runs gave both focus seats of a "
    "two-mentors mentee the same mentor (seen in 1 of 5 small runs)",
}


@pytest.fixture(scope="module")
async def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    state = tmp_path_factory.mktemp("simulation")
    options = Options(
        people=60, months=3, step_days=6, seed=11, faults=FEWER_OUTAGES, state=state, out=state / "report"
    )
    found = await simulate(options)
    report.write(found)
    return found


@pytest.mark.parametrize("name", checks.NAMES)
def test_invariant_holds_across_services_stores_and_topics(outcome: Outcome, name: str) -> None:
    """A known defect's invariant is expected broken (an xfail that shows the evidence); once it
    holds, the test fails until the defect comes off the list, as a strict xfail would."""
    verdict = next(v for v in outcome.verdicts if v.name == name)
    where = f"{verdict.checked} checked; broken at {', '.join(verdict.when) or 'the end'}"
    if name in KNOWN_DEFECTS:
        assert not verdict.held, (
            f"{name} holds now: is {KNOWN_DEFECTS[name]!r} fixed? Take it off KNOWN_DEFECTS"
        )
        pytest.xfail(f"{KNOWN_DEFECTS[name]} ({where}): {' | '.join(verdict.evidence[:3])}")
    if name in INTERMITTENT and not verdict.held:
        pytest.xfail(f"{INTERMITTENT[name]} ({where}): {' | '.join(verdict.evidence[:3])}")
    evidence = "\n".join(verdict.evidence)
    assert verdict.held, f"{name} broken ({where}):\n{evidence}"


def test_the_run_lived_through_every_fault_and_did_what_a_company_does(outcome: Outcome) -> None:
    """The invariants mean something only if the run did the things they are about."""
    assert [fault["kind"] for fault in outcome.faults] == list(FEWER_OUTAGES)
    line = json.loads((outcome.options.out / "summary.json").read_text())
    assert line["pairs_created"] >= 15
    assert line["sessions_held"] >= 20
    assert line["sessions_missed"] >= 5
    assert line["stagnant_episodes"] >= 1
    assert line["escalations"] >= 1
    assert line["erasures"] >= 2
    checked = {v.name: v.checked for v in outcome.verdicts}
    for name in ("erased_persons_partner_told", "missed_sessions_reach_both_once", "stagnant_pairs_notified"):
        assert checked[name] >= 1, f"{name} had nothing to check"


def test_the_report_has_the_summary_the_charts_and_one_json_line(outcome: Outcome) -> None:
    out: Path = outcome.options.out
    for chart in (
        "active_pairs.png",
        "sessions.png",
        "stagnation.png",
        "rematches.png",
        "time_to_first_match.png",
    ):
        assert (out / chart).read_bytes().startswith(b"\x89PNG")
    text = (out / "report.md").read_text()
    assert all(name in text for name in checks.NAMES)
    line = json.loads((out / "summary.json").read_text())
    assert (line["people"], line["months"]) == (60, 3)
    assert set(line["invariants"]) == set(checks.NAMES)
