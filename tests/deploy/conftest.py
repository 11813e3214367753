"""Deployment artifacts: the tools that check them (installed into the version-keyed cache by
`make install`, built here when missing) and the gate of the slow platform tests.

Tests marked `deploy_platform` build images, run dockerd and a kube-apiserver (minutes): they run
only under `make test-deploy` (MENTORSHIP_TEST_DEPLOY=1), never in `make test`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The test environment's own scripts (kubernetes-validate, hadolint), wherever pytest was started from.
VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "mentorship"
COMPOSE_FILE = REPO / "deploy" / "compose" / "compose.yaml"
DOCKERFILES = sorted(
    [REPO / "deploy" / "docker" / "Dockerfile", *(REPO / "deploy" / "docker").glob("*/*.Dockerfile")]
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy_platform: builds images and runs dockerd/kube-apiserver; only make test-deploy"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MENTORSHIP_TEST_DEPLOY") == "1":
        return
    kept = [item for item in items if not item.get_closest_marker("deploy_platform")]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("deploy_platform")])
        items[:] = kept


def built_with_go(install: Callable[[], Path]) -> Path:
    """A tool `make install` builds with Go (helm, compose): on a machine without Go, where the
    cache does not hold it, the tests that use it skip, naming what is missing."""
    from localstack.tools import MissingGo

    try:
        return install()
    except MissingGo as error:
        pytest.skip(f"{error} (not in the cache, and this machine has no Go)")


@pytest.fixture(scope="session")
def helm() -> Path:
    from localstack.tools import install_helm

    return built_with_go(install_helm)


@pytest.fixture(scope="session")
def compose() -> Path:
    from localstack.tools import install_compose

    return built_with_go(install_compose)
