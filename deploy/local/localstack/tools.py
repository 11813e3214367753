"""Install the deployment tools into the version-keyed cache: Helm and Docker Compose v2 (built from
the Go module proxy), kube-apiserver (a wrapper module over k8s.io/kubernetes, test-deploy only),
and Zipkin's exec jar (Maven Central), so a fresh clone installs them once per machine and reuses them.

`python -m localstack.tools [--go-optional] [helm] [compose] [kube-apiserver] [zipkin]` installs and
prints paths. With `--go-optional` (`make install`), a Go tool that is not in the cache on a machine
without Go is reported and left out, and the tests that use it skip (helm's and compose's checks of
the chart and the compose file), as the AsyncAPI parser's do without node: `make test` needs no Go.
No registry offers these as binaries here, so the Go tools are compiled: on this 2-core machine,
shared with other builds, helm took ~9 min, compose ~13 min and kube-apiserver ~29 min from a cold Go
build cache (a relink with a warm one: seconds). Each lands in `$MENTORSHIP_CACHE/<tool>-<version>/`
only when its build succeeded, so only the first install on a machine pays for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from localstack.errors import InstallError, MissingTool
from localstack.install import MARKER, _run_step, cache_dir, install_lock, is_installed, require

HELM_VERSION = "4.3.2"
COMPOSE_VERSION = "2.40.3"
KUBERNETES_VERSION = "1.37.2"
ZIPKIN_VERSION = "3.6.1"


class MissingGo(MissingTool):
    """Go is not installed, and a tool built with it is not in the cache."""


def _go() -> str:
    path = shutil.which("go")
    if path is None:
        raise MissingGo("go (1.24+) builds helm, compose and kube-apiserver; install Go from go.dev")
    return path


def _go_env(work: Path) -> dict[str, str]:
    # CGO off: static binaries that also run inside a minimal image; -buildvcs off for module builds.
    return {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOWORK": "off", "PWD": str(work)}


def _installed(name: str, version: str, build: Callable[[Path], None], binary: str, recipe: int = 1) -> Path:
    """Return cache/<name>-<version>/<binary>, building it under a lock when it is missing (or
    was built by an older `recipe`)."""
    target = cache_dir() / f"{name}-{version}"
    path = target / binary
    fingerprint = f"{name} {version}" + (f" recipe {recipe}" if recipe > 1 else "")
    if is_installed(target, fingerprint) and path.exists():
        return path
    with install_lock(f"{name}-{version}"):
        if is_installed(target, fingerprint) and path.exists():
            return path
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        build(target)
        if not path.exists():
            raise InstallError(f"building {name} {version} finished without {path}")
        (target / MARKER).write_text(fingerprint + "\n")
    return path


def _run_go(cmd: list[str], work: Path, **extra_env: str) -> None:
    proc = subprocess.run(
        cmd,
        cwd=work,
        env={**_go_env(work), **extra_env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise InstallError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def _go_build(work: Path, output: Path, package: str, ldflags: str = "") -> None:
    _run_go(
        [_go(), "build", "-trimpath", f"-ldflags=-s -w {ldflags}".strip(), "-o", str(output), package], work
    )


def _module_dir(module: str, version: str) -> Path:
    """Download a module's source with `go mod download` and return its (read-only) directory."""
    proc = subprocess.run(
        [_go(), "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        env=_go_env(Path.cwd()),
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise InstallError(f"go mod download {module}@{version} failed:\n{proc.stdout}\n{proc.stderr}")
    return Path(json.loads(proc.stdout)["Dir"])


def install_helm() -> Path:
    def build(target: Path) -> None:
        _run_go(
            [_go(), "install", "-trimpath", "-ldflags=-s -w", f"helm.sh/helm/v4/cmd/helm@v{HELM_VERSION}"],
            target,
            GOBIN=str(target / "bin"),
        )

    return _installed("helm", HELM_VERSION, build, "bin/helm")


def install_compose() -> Path:
    """Compose v2 cannot be `go install`ed (its go.mod has exclude directives): build its module source."""

    def build(target: Path) -> None:
        source = _module_dir("github.com/docker/compose/v2", f"v{COMPOSE_VERSION}")
        _go_build(
            source,
            target / "bin" / "docker-compose",
            "./cmd",
            f"-X github.com/docker/compose/v2/internal.Version=v{COMPOSE_VERSION}",
        )

    return _installed("compose", COMPOSE_VERSION, build, "bin/docker-compose")


_STAGING = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/src/k8s\.io/[\w.-]+\s*$", re.MULTILINE)


def install_kube_apiserver() -> Path:
    """kube-apiserver from a wrapper module: k8s.io/kubernetes replaces its staging modules with
    local paths, which only work in its own repo, so the wrapper points each at the published v0.x."""

    def build(target: Path) -> None:
        kubernetes = _module_dir("k8s.io/kubernetes", f"v{KUBERNETES_VERSION}")
        staging = sorted(set(_STAGING.findall((kubernetes / "go.mod").read_text())))
        if len(staging) < 20:
            raise InstallError(f"k8s.io/kubernetes v{KUBERNETES_VERSION}: found only {staging} as staging")
        published = "v0." + KUBERNETES_VERSION.split(".", 1)[1]
        with tempfile.TemporaryDirectory(prefix="kube-apiserver-") as tmp:
            work = Path(tmp)
            lines = [
                "module mentorship.local/kubeapiserver",
                "",
                "go 1.24",
                "",
                f"require k8s.io/kubernetes v{KUBERNETES_VERSION}",
                "",
                *(f"replace {module} => {module} {published}" for module in staging),
            ]
            (work / "go.mod").write_text("\n".join(lines) + "\n")
            _run_go([_go(), "get", f"k8s.io/kubernetes/cmd/kube-apiserver@v{KUBERNETES_VERSION}"], work)
            # The version the server reports (Helm checks a chart's kubeVersion against it).
            major, minor, _ = KUBERNETES_VERSION.split(".")
            version = " ".join(
                f"-X k8s.io/component-base/version.{key}={value}"
                for key, value in (
                    ("gitVersion", f"v{KUBERNETES_VERSION}"),
                    ("gitMajor", major),
                    ("gitMinor", minor),
                )
            )
            _go_build(
                work, target / "bin" / "kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", version
            )

    return _installed("kube-apiserver", KUBERNETES_VERSION, build, "bin/kube-apiserver", recipe=2)


def install_zipkin() -> Path:
    """Zipkin's executable server jar from Maven Central (runs with `java -jar`)."""
    jar = f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"

    def build(target: Path) -> None:
        _run_step(
            [
                require("mvn"),
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact=io.zipkin:zipkin-server:{ZIPKIN_VERSION}:jar:exec",
                f"-DoutputDirectory={target}",
            ],
            cwd=target,
            what=f"Downloading Zipkin {ZIPKIN_VERSION} with Maven",
        )

    return _installed("zipkin", ZIPKIN_VERSION, build, jar)


INSTALLERS: dict[str, Callable[[], Path]] = {
    "helm": install_helm,
    "compose": install_compose,
    "kube-apiserver": install_kube_apiserver,
    "zipkin": install_zipkin,
}


def main(argv: list[str]) -> int:
    go_optional = "--go-optional" in argv
    names = [arg for arg in argv if arg != "--go-optional"] or ["helm", "compose", "zipkin"]
    unknown = [name for name in names if name not in INSTALLERS]
    if unknown:
        print(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(INSTALLERS)}", file=sys.stderr)
        return 2
    for name in names:
        started = time.monotonic()
        try:
            path = INSTALLERS[name]()
        except (InstallError, MissingTool) as error:
            if go_optional and isinstance(error, MissingGo):
                print(f"{name}: not installed ({error}); the tests that use it skip", file=sys.stderr)
                continue
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{name}: {path} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
