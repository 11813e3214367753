"""`python -m simulation --people 500 --months 12`: run the simulated programme, print each
invariant as held or broken with its evidence, write the report, and end with one JSON line.
Exits 1 when an invariant broke."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

import localstack

from simulation import report
from simulation.run import FAULTS, Options, simulate


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulation", description=__doc__)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--step-days",
        type=float,
        default=3.0,
        help="how far the clock moves per step (a session not checked in by the next step counts as missed)",
    )
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--state", type=Path, default=Path(".local/simulation"))
    args = parser.parse_args(argv)
    localstack.interrupt_on_sigterm()  # a stopped run stops the platform it started
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for chatty in ("httpx", "aiokafka"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    options = Options(
        people=args.people, months=args.months, seed=args.seed, step_days=args.step_days,
        faults=() if args.no_faults else FAULTS, state=args.state, out=args.state / "report",
    )  # fmt: skip
    outcome = asyncio.run(simulate(options))
    line = report.write(outcome)
    for verdict in outcome.verdicts:
        print(f"{'held  ' if verdict.held else 'BROKEN'} {verdict.name} ({verdict.checked} checked)")
        for evidence in verdict.evidence:
            print(f"         {evidence}")
    print(f"report: {options.out / 'report.md'}")
    print(json.dumps(line))
    return 0 if all(line["invariants"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
