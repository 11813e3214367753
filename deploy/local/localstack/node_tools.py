"""The npm tools and the browser the checks and docs need, installed into the cache like the jars.

`deploy/local/node/package.json` (with its lock) pins the official AsyncAPI parser, which `make
test` runs over every service's document, and the AsyncAPI viewer whose standalone bundle the
services serve at `/docs/asyncapi`. `npm ci` installs them once per set of versions into
`<cache>/node-tools-<versions>/`. Debian's chromium (the docs pages are opened in it by a test) is
installed with apt-get when missing and we are root; otherwise the tests that need it skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from localstack.errors import InstallError, MissingTool
from localstack.install import MARKER, _fingerprint, _run_step, cache_dir, install_lock, is_installed

NODE_PROJECT = Path(__file__).resolve().parent.parent / "node"
PACKAGE_JSON = NODE_PROJECT / "package.json"
PACKAGE_LOCK = NODE_PROJECT / "package-lock.json"
ASYNCAPI_CHECK_SCRIPT = NODE_PROJECT / "check_asyncapi.mjs"


def pinned_versions() -> dict[str, str]:
    dependencies: dict[str, str] = json.loads(PACKAGE_JSON.read_text())["dependencies"]
    return dependencies


def node_tools_dir() -> Path:
    """Where this set of versions is (or will be) installed: keyed by the pinned versions."""
    versions = "-".join(f"{name.rsplit('/', 1)[-1]}-{version}" for name, version in pinned_versions().items())
    return cache_dir() / f"node-tools-{versions}"


def installed_node_modules() -> Path | None:
    """The installed node_modules, or None when the install step has not run (or node is absent)."""
    target = node_tools_dir()
    if not is_installed(target, _fingerprint("node-tools", PACKAGE_JSON, PACKAGE_LOCK)):
        return None
    return target / "node_modules"


def install_node_tools() -> Path:
    """`npm ci` the pinned tools into the cache (once per set of versions); return node_modules."""
    target = node_tools_dir()
    fingerprint = _fingerprint("node-tools", PACKAGE_JSON, PACKAGE_LOCK)
    if is_installed(target, fingerprint):
        return target / "node_modules"
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise MissingTool("node and npm install the AsyncAPI parser and viewer (apt-get install nodejs npm)")
    with install_lock(target.name):
        if is_installed(target, fingerprint):
            return target / "node_modules"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy(PACKAGE_JSON, target / "package.json")
        shutil.copy(PACKAGE_LOCK, target / "package-lock.json")
        _run_step(
            [npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=target,
            what="Installing the AsyncAPI parser and viewer with npm",
        )
        for name in pinned_versions():
            if not (target / "node_modules" / name / "package.json").is_file():
                raise InstallError(f"npm ci finished but {name} is not in {target / 'node_modules'}")
        (target / MARKER).write_text(fingerprint + "\n")
    return target / "node_modules"


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def ensure_chromium() -> str | None:
    """Debian's chromium, installed with apt-get when missing and we may; None when it is not there."""
    found = chromium_path()
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        # A fresh machine has no package lists yet: fetch them once and try again.
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        proc = subprocess.run(install, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise InstallError(
                f"apt-get install chromium failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
    return chromium_path()


def install_all() -> list[str]:
    """The install step's part: the npm tools and chromium; what is missing is said, not fatal
    (the tests needing it then skip with that reason)."""
    lines = []
    try:
        lines.append(
            f"node tools {' '.join(f'{n}@{v}' for n, v in pinned_versions().items())}: {install_node_tools()}"
        )
    except MissingTool as missing:
        lines.append(f"node tools not installed: {missing}")
    try:
        lines.append(f"chromium: {ensure_chromium() or 'not installed (not root or no apt-get)'}")
    except InstallError as error:
        lines.append(f"chromium not installed: {error}")
    return lines
