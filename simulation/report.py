"""The report for a programme owner: monthly figures from the topics (active pairs, sessions held
and missed, stagnant and recovered pairs, rematches, time to first match), PNG charts, a markdown
summary with every invariant held or broken and its evidence, and the closing JSON line."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulation.event_checks import _time
from simulation.observe import Record
from simulation.run import MONTH_DAYS, Outcome


@dataclass
class Figures:
    months: int
    active_pairs: list[int] = field(default_factory=list)  # at each month's end
    held: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    stagnant: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    rematches: list[int] = field(default_factory=list)
    circles: int = 0
    days_to_first_match: list[float] = field(default_factory=list)


def _month(moment: datetime, start: datetime, months: int) -> int:
    return min(months - 1, max(0, int((moment - start) / timedelta(days=MONTH_DAYS))))


def _monthly(records: list[Record], start: datetime, months: int, when: str = "ce_time") -> list[int]:
    counts = [0] * months
    for record in records:
        moment = _time(record) if when == "ce_time" else datetime.fromisoformat(record.data[when])
        counts[_month(moment, start, months)] += 1
    return counts


def figures(outcome: Outcome) -> Figures:
    snapshot, start, months = outcome.snapshot, outcome.start, outcome.options.months
    shown = Figures(months)
    created, ended = snapshot.events("PairCreated"), snapshot.events("PairEnded")
    for month in range(months):
        end = start + timedelta(days=MONTH_DAYS * (month + 1))
        alive = {r.data["pair_id"] for r in created if _time(r) <= end}
        alive -= {r.data["pair_id"] for r in ended if _time(r) <= end}
        shown.active_pairs.append(len(alive))
    held = {r.data["session_id"]: r for r in snapshot.events("SessionCompleted")}
    missed = {
        r.data["session_id"]: r for r in snapshot.events("SessionMissed") if r.data["session_id"] not in held
    }
    shown.held = _monthly(list(held.values()), start, months, "starts_at")
    shown.missed = _monthly(list(missed.values()), start, months, "starts_at")
    shown.stagnant = _monthly(
        _first_per(snapshot.events("RelationshipStagnant"), "episode_id"), start, months
    )
    shown.recovered = _monthly(
        _first_per(snapshot.events("RelationshipRecovered"), "episode_id"), start, months
    )
    had_pair: set[str] = set()
    rematches = []
    for record in sorted(_first_per(created, "pair_id"), key=_time):
        if record.data["mentee_id"] in had_pair:
            rematches.append(record)
        had_pair.add(record.data["mentee_id"])
    shown.rematches = _monthly(rematches, start, months)
    shown.circles = len(_first_per(snapshot.events("CircleFormed"), "circle_id"))
    shown.days_to_first_match = _days_to_first_match(outcome)
    return shown


def _first_per(records: list[Record], key: str) -> list[Record]:
    first: dict[str, Record] = {}
    for record in records:
        first.setdefault(record.data[key], record)
    return list(first.values())


def _days_to_first_match(outcome: Outcome) -> list[float]:
    matched: dict[str, datetime] = {}
    for record in outcome.snapshot.events("PairCreated"):
        matched.setdefault(record.data["mentee_id"], _time(record))
    for record in outcome.snapshot.events("CircleFormed"):
        for member in record.data["member_ids"]:
            matched.setdefault(member, _time(record))
    joined = outcome.world.journal.joined_at
    return sorted(
        max(0.0, (matched[p] - joined[p]) / timedelta(days=1))
        for p in joined
        if p in matched and matched[p] >= joined[p]
    )


def charts(shown: Figures, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = list(range(1, shown.months + 1))
    drawn = []
    panels: list[tuple[str, str, list[tuple[str, list[int]]]]] = [
        ("active_pairs.png", "Active pairs at each month's end", [("active pairs", shown.active_pairs)]),
        ("sessions.png", "Sessions held and missed", [("held", shown.held), ("missed", shown.missed)]),
        (
            "stagnation.png",
            "Pairs turning stagnant and recovering",
            [("stagnant", shown.stagnant), ("recovered", shown.recovered)],
        ),
        ("rematches.png", "Rematches (a mentee's second or later pair)", [("rematches", shown.rematches)]),
    ]
    for name, title, series in panels:
        figure, axes = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / len(series)
        for index, (label, values) in enumerate(series):
            if name == "active_pairs.png":
                axes.plot(months, values, marker="o", label=label)
            else:
                axes.bar(
                    [m + (index - (len(series) - 1) / 2) * width for m in months], values, width, label=label
                )
        axes.set(title=title, xlabel="month")
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / name, dpi=100)
        plt.close(figure)
        drawn.append(name)
    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.hist(shown.days_to_first_match or [0], bins=20)
    axes.set(title="Time to first match", xlabel="days from joining", ylabel="mentees")
    figure.tight_layout()
    figure.savefig(out / "time_to_first_match.png", dpi=100)
    plt.close(figure)
    return [*drawn, "time_to_first_match.png"]


def summary_line(outcome: Outcome, shown: Figures) -> dict[str, Any]:
    waits = shown.days_to_first_match
    return {
        "people": outcome.options.people,
        "months": outcome.options.months,
        "faults": [fault["kind"] for fault in outcome.faults],
        "invariants": {v.name: v.held for v in outcome.verdicts},
        "seconds": round(outcome.seconds),
        "pairs_created": len(_first_per(outcome.snapshot.events("PairCreated"), "pair_id")),
        "circles_formed": shown.circles,
        "sessions_held": sum(shown.held),
        "sessions_missed": sum(shown.missed),
        "stagnant_episodes": sum(shown.stagnant),
        "recovered": sum(shown.recovered),
        "rematches": sum(shown.rematches),
        "escalations": len(outcome.world.journal.escalations),
        "erasures": len(outcome.world.journal.erasures),
        "median_days_to_first_match": round(statistics.median(waits), 1) if waits else None,
        "matched_mentees": len(waits),
    }


def write(outcome: Outcome) -> dict[str, Any]:
    out = outcome.options.out
    out.mkdir(parents=True, exist_ok=True)
    shown = figures(outcome)
    drawn = charts(shown, out)
    line = summary_line(outcome, shown)
    (out / "report.md").write_text(markdown(outcome, shown, drawn, line))
    (out / "summary.json").write_text(json.dumps(line, indent=2))
    return line


def markdown(outcome: Outcome, shown: Figures, drawn: list[str], line: dict[str, Any]) -> str:
    o = outcome.options
    rows = "\n".join(
        f"| {m + 1} | {shown.active_pairs[m]} | {shown.held[m]} | {shown.missed[m]} | {shown.stagnant[m]} | "
        f"{shown.recovered[m]} | {shown.rematches[m]} |"
        for m in range(shown.months)
    )
    verdicts = "\n".join(
        f"- **{v.name}**: {'held' if v.held else 'BROKEN'} ({v.checked} checked)"
        + (f", broken at {', '.join(v.when)}" if v.when else "")
        + "".join(f"\n    - {line_}" for line_ in v.evidence)
        for v in outcome.verdicts
    )
    faults = "\n".join(
        f"- {f['kind']} at {f['at'][:16]}, back after {f['down_seconds']} s" for f in outcome.faults
    )
    actions = ", ".join(f"{k}: {v}" for k, v in sorted(outcome.world.journal.actions.items()))
    return f"""# Mentorship programme: a simulated {o.months} months with {o.people} people

Run in {outcome.seconds / 60:.1f} minutes (seed {o.seed}, one clock step = {o.step_days:g} day).
{line["pairs_created"]} pairs created and {shown.circles} circles formed; {line["sessions_held"]} sessions
held and {line["sessions_missed"]} missed; {line["stagnant_episodes"]} stagnation episodes,
{line["recovered"]} recovered; {line["rematches"]} rematches; {line["escalations"]} escalations;
{line["erasures"]} erasures. Median time to a first match: {line["median_days_to_first_match"]} days
({line["matched_mentees"]} mentees matched).

| month | active pairs | held | missed | stagnant | recovered | rematches |
|---|---|---|---|---|---|---|
{rows}

{chr(10).join(f"![{name}]({name})" for name in drawn)}

## Invariants

{verdicts}

## Faults

{faults or "- none"}

## What the people did

{actions}. HTTP calls: {outcome.calls.get("calls")} ({outcome.calls.get("retried")} retried during faults).
"""
