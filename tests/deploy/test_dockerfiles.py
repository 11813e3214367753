"""The Dockerfiles pass hadolint, and the platform image is built to run as an unprivileged user
from any Python 3.11 base given as a build argument."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy.conftest import DOCKERFILES, REPO, VENV_BIN


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_passes_hadolint(dockerfile: object) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_platform_image_takes_its_base_as_an_argument_and_runs_unprivileged() -> None:
    lines = (REPO / "deploy" / "docker" / "Dockerfile").read_text().splitlines()
    instructions = [line.split()[0] for line in lines if line and not line.startswith(("#", " "))]
    assert lines.count("FROM ${BASE_IMAGE}") == 1
    assert "FROM ${BASE_IMAGE} AS build" in lines
    assert instructions.index("ARG") < instructions.index("FROM")
    user = next(line for line in lines if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert instructions.index("USER") > max(i for i, word in enumerate(instructions) if word == "COPY")
    assert 'ENTRYPOINT ["python3", "-m"]' in lines
