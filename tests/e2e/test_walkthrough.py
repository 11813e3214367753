"""End to end: the README's walkthrough, run as written (its ```sh blocks, in one bash shell) against the
four services as processes with make run's time rules on the shared clock, each block's outcome
checked as the README describes it (scripts/walkthrough_steps.py). If the README and the platform
drift apart, this fails on the first block that no longer does what the README says."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.walkthrough import README, Platform, WalkthroughFailed, run, walkthrough_blocks
from scripts.walkthrough_steps import STEPS
from tests.conftest import Infra
from tests.e2e.fleet import SECRET, fleet, fleet_env, new_database_prefix

# make run's time rules (the kick-off 2 to 7 days after pairing in working hours, an hour long, an
# hour's grace); only the sweeps run more often than make run's 30 s, so the test waits less.
AS_MAKE_RUN = {
    "FIRST_SESSION_AFTER_SECONDS": str(2 * 86400),
    "KICKOFF_IN_WORKING_HOURS": "true",
    "SESSION_DURATION_SECONDS": "3600",
    "MISSED_GRACE_SECONDS": "3600",
}


@pytest.mark.fast
def test_every_walkthrough_block_in_the_readme_has_its_check() -> None:
    blocks = walkthrough_blocks(README.read_text())
    assert len(blocks) == len(STEPS)
    assert [step.marker in block for block, step in zip(blocks, STEPS, strict=True)] == [True] * len(STEPS)


@pytest.mark.e2e
def test_the_readme_walkthrough_runs_as_written_from_import_to_erasure(infra: Infra, tmp_path: Path) -> None:
    services = fleet(fleet_env(infra, new_database_prefix("walkthrough"), **AS_MAKE_RUN), tmp_path / "logs")
    try:
        services.start()
        urls = {name: service.url for name, service in services.services.items()}
        try:
            passed = run(Platform(urls, SECRET), wait_seconds=30, echo=False)
        except WalkthroughFailed as failure:
            logs = "\n".join(f"--- {s.name}\n{s.log_tail(15)}" for s in services.services.values())
            pytest.fail(f"{failure}\n{logs}")
    finally:
        services.stop()
    assert passed == [step.title for step in STEPS]
