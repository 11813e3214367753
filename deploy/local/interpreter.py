"""The venv's interpreter: CPython 3.13 built on this machine from its release sources, with
profile-guided and link-time optimisation, into the install cache (outside the repo, keyed by
version), once per machine. `make install` runs this with the system's python3 before it creates
the venv, so it uses the standard library alone.

Why build one: the services spend most of their CPU in the interpreter (pydantic's, PyMongo's and
aiokafka's compiled parts aside), and no registry this machine reaches has a newer CPython than
Debian 12's 3.11 (itself built with PGO and LTO) that runs on it (Debian 13's 3.13 packages need a
newer C library). Matching's flood with two replicas,
alternated with Debian's 3.11 on the same servers: this build, 8 rounds, records/s x1.050 (0.65 to
1.34 round by round), the service's CPU per record x0.931 (every process's x0.934); a 3.13.15
built the same way, 8 and 10 rounds, x1.037 and x1.162 (CPU per record x0.953 and x0.842). The
passthrough baseline does not move (aiokafka's and uvloop's compiled code): x1.001 records/s in 5
alternated rounds of 3 floods.

The sources are the release tarball as Debian's archive keeps it (`*.orig.tar.xz`, which unpacks to
`Python-3.13.5/`), pinned by its SHA-256; `MENTORSHIP_PYTHON_SOURCE` names another copy of
the same bytes (a file or a URL). Building takes about 14 minutes on 2 cores, most of it the
profiling run.

Usage: python3 deploy/local/interpreter.py [--path]
Prints the interpreter's path, building it first if the cache lacks it (`--path`: only print).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

VERSION = "3.13.5"
SOURCE_URL = f"https://deb.debian.org/debian/pool/main/p/python3.13/python3.13_{VERSION}.orig.tar.xz"
SOURCE_SHA256 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
# What the configure step must have found: the standard library modules the services, uv and the
# tests import, and the Debian packages that provide their headers.
REQUIRED_MODULES = {
    "ssl": "libssl-dev",
    "ctypes": "libffi-dev",
    "zlib": "zlib1g-dev",
    "bz2": "libbz2-dev",
    "lzma": "liblzma-dev",
    "sqlite3": "libsqlite3-dev",
    "uuid": "uuid-dev",
    "readline": "libreadline-dev",
    "pyexpat": "libexpat1-dev",
}
MARKER = ".installed"  # in an installed tool's folder: what it was installed from


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    """Root of the version-keyed install cache (outside the repo, shared by clones), for the
    interpreter and for what localstack installs."""
    root = os.environ.get("MENTORSHIP_CACHE") or str(Path.home() / ".cache" / "mentorship")
    return Path(root).expanduser().resolve()


def prefix() -> Path:
    return cache_dir() / f"cpython-{VERSION}-pgo-lto"


def interpreter() -> Path:
    return prefix() / "bin" / f"python{VERSION.rsplit('.', 1)[0]}"


def is_installed(target: Path, fingerprint: str) -> bool:
    """Whether `target` was installed whole from what `fingerprint` names (its marker says so)."""
    marker = target / MARKER
    return marker.is_file() and marker.read_text().strip() == fingerprint


@contextlib.contextmanager
def install_lock(name: str) -> Iterator[None]:
    """Serialise installs across processes (two clones installing at once, parallel test runs,
    make run beside make test)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _installed() -> bool:
    return is_installed(prefix(), SOURCE_SHA256)


def _fetch(source: str, target: Path) -> None:
    if "://" not in source:
        shutil.copyfile(source, target)
    else:
        with urllib.request.urlopen(source, timeout=60) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise BuildError(f"{source}: SHA-256 {digest}, expected {SOURCE_SHA256}")


def _step(command: list[str], cwd: Path, log: Path, what: str) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BuildError(f"{what} failed (exit {done.returncode}, whole log: {log}):\n{tail}")


def _check_modules(python: Path) -> None:
    missing = []
    for module, package in REQUIRED_MODULES.items():
        found = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
        if found.returncode != 0:
            missing.append(f"{module} (apt-get install {package})")
    if missing:
        raise BuildError(f"the built interpreter lacks {', '.join(missing)}: install them and run again")


def build() -> Path:
    """Build and install the interpreter into the cache unless it is there; returns its path."""
    if _installed():
        return interpreter()
    for tool in ("gcc", "make"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is needed to build CPython {VERSION} (apt-get install build-essential)")
    with install_lock(f"cpython-{VERSION}"):
        if _installed():  # another install finished it meanwhile
            return interpreter()
        target = prefix()
        with tempfile.TemporaryDirectory(prefix=f".cpython-{VERSION}-", dir=cache_dir()) as work_dir:
            work = Path(work_dir)
            log = cache_dir() / f"cpython-{VERSION}-build.log"
            log.unlink(missing_ok=True)
            print(f"Building CPython {VERSION} (about 14 minutes on 2 cores; log: {log})", file=sys.stderr)
            tarball = work / "source.tar.xz"
            _fetch(os.environ.get("MENTORSHIP_PYTHON_SOURCE", SOURCE_URL), tarball)
            with tarfile.open(tarball) as archive:
                # The "data" filter (no links out, no devices) where this Python has it (3.11.4+).
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(work, filter="data")
                else:
                    archive.extractall(work)
            source = work / f"Python-{VERSION}"
            jobs = str(os.cpu_count() or 1)
            configure = ["./configure", f"--prefix={target}", "--enable-optimizations", "--with-lto"]
            _step(configure, source, log, "configure")
            _step(["make", f"-j{jobs}"], source, log, "make")
            # Installed beside the cache and moved into place whole: a build stopped halfway leaves
            # nothing a later install or a venv would take for an interpreter.
            staging = work / "staging"
            _step(["make", "install", f"DESTDIR={staging}"], source, log, "make install")
            staged = staging / target.relative_to(target.anchor)
            shutil.rmtree(target, ignore_errors=True)
            staged.rename(target)
        try:
            _check_modules(interpreter())
        except BuildError:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (target / MARKER).write_text(SOURCE_SHA256 + "\n")
    return interpreter()


def main() -> None:
    if sys.argv[1:] == ["--path"]:
        print(interpreter())
        return
    try:
        print(build())
    except BuildError as error:
        sys.exit(f"interpreter.py: {error}")


if __name__ == "__main__":
    main()
