"""Every service's AsyncAPI document, checked by the official `@asyncapi/parser` (npm), as a
consuming team's code generator would read it: no error and no warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from localstack.node_tools import ASYNCAPI_CHECK_SCRIPT, install_node_tools

from scripts.generate_docs import SERVICES, asyncapi_of, asyncapi_path
from scripts.generate_docs import render as render_asyncapi

_ERROR, _WARNING = 0, 1


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed, so the official AsyncAPI parser cannot run here")
    return install_node_tools()  # a no-op once `make install` did it


def _parse(node_modules: Path, files: list[Path]) -> dict[str, list[dict[str, str | int]]]:
    proc = subprocess.run(
        ["node", str(ASYNCAPI_CHECK_SCRIPT), *map(str, files)],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"the parser did not run: {proc.stderr[-3000:]}"
    report: dict[str, list[dict[str, str | int]]] = json.loads(proc.stdout)
    return report


def test_official_asyncapi_parser_accepts_every_service_document(node_modules: Path, tmp_path: Path) -> None:
    # The committed documents and freshly generated ones (they differ only if `make docs` is due).
    files = [asyncapi_path(service) for service in SERVICES]
    for service in SERVICES:
        fresh = tmp_path / f"{service}.asyncapi.json"
        fresh.write_text(render_asyncapi(asyncapi_of(service)))
        files.append(fresh)
    report = _parse(node_modules, files)
    problems = [
        f"{Path(file).name}: {d['code']} {d['message']} at {d['path']}"
        for file, diagnostics in report.items()
        for d in diagnostics
        if d["severity"] in (_ERROR, _WARNING)
    ]
    assert set(report) == {str(f) for f in files}
    assert problems == []


def test_the_parser_check_does_find_a_broken_reference(node_modules: Path, tmp_path: Path) -> None:
    # The check above can fail: the defect the documents once had is reported as an error.
    document = asyncapi_of("profiles")
    document["components"]["schemas"].pop("PersonRole")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    diagnostics = _parse(node_modules, [broken])[str(broken)]
    assert any(d["severity"] == _ERROR and d["code"] == "invalid-ref" for d in diagnostics), diagnostics
