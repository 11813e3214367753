"""The tools `make install` builds with Go (helm, compose) on a machine without Go: `make test`
still installs everything else and passes, the chart's and compose file's checks skipping with the
reason; asked for alone (or by `make test-deploy`), a missing Go is an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from localstack import tools

from tests.deploy.conftest import built_with_go

pytestmark = pytest.mark.fast


@pytest.fixture
def no_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache, and a PATH without Go."""
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("MENTORSHIP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_without_go_the_go_tools_are_left_out_only_when_optional(
    no_go: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tools.main(["helm"]) == 1
    assert "error: go (1.24+) builds helm" in capsys.readouterr().err

    assert tools.main(["--go-optional", "helm", "compose"]) == 0
    reported = capsys.readouterr().err
    assert "helm: not installed (go (1.24+)" in reported
    assert "compose: not installed (go (1.24+)" in reported
    assert not list(no_go.glob("*/bin/helm"))
    assert not list(no_go.glob("*/.installed"))


def test_a_go_tool_in_the_cache_needs_no_go(no_go: Path, capsys: pytest.CaptureFixture[str]) -> None:
    helm = no_go / f"helm-{tools.HELM_VERSION}"
    (helm / "bin").mkdir(parents=True)
    (helm / "bin" / "helm").write_text("")
    (helm / ".installed").write_text(f"helm {tools.HELM_VERSION}\n")

    assert tools.main(["helm"]) == 0
    assert capsys.readouterr().out.startswith(f"helm: {helm / 'bin' / 'helm'} (")


def test_the_tests_that_use_a_missing_go_tool_skip_naming_it(no_go: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match=r"builds helm.*this machine has no Go"):
        built_with_go(tools.install_helm)
