"""Install the local servers from Maven Central into a cache outside the repo, keyed by version.

Kafka's jars and mongo-java-server's jars are copied by Maven (`dependency:copy-dependencies`);
our store launcher is compiled with javac against them. Each install dir gets a marker holding a
fingerprint of its inputs, so editing a pom re-installs, and a fresh clone (CI) reuses what an
earlier clone installed; each version of the launcher's sources gets compiled classes of its own
beside the others (`store_files`), so clones at different commits never remove each other's.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

# The cache's root, its markers and its lock are the interpreter build's: that script runs before
# the venv exists, on the standard library alone, so it holds the one definition of each
# (re-exported here for localstack's modules).
from interpreter import MARKER as MARKER
from interpreter import cache_dir as cache_dir
from interpreter import install_lock as install_lock
from interpreter import is_installed as is_installed

from localstack.errors import InstallError, MissingTool

KAFKA_VERSION: str = "4.1.1"
STORE_VERSION: str = "1.47.0"  # de.bwaldvogel:mongo-java-server

HERE = Path(__file__).resolve().parent.parent
KAFKA_POM = HERE / "kafka" / "pom.xml"
STORE_POM = HERE / "mongo" / "pom.xml"
STORE_SOURCES = HERE / "mongo" / "src" / "main" / "java"
STORE_MAIN_CLASS = "mentorship.store.StoreLauncher"

# Written into an install dir only once the install succeeded.

_TOOL_HINTS: dict[str, str] = {
    "java": "java is required to run Kafka and the store; install a JDK 17+ (apt-get install default-jdk)",
    "javac": "javac compiles the store launcher; install a JDK 17+ (apt-get install default-jdk)",
    "mvn": "mvn is required to download Kafka and the store from Maven Central (apt-get install maven)",
}


def require(tool: str) -> str:
    """Return the tool's path or raise MissingTool with an actionable message."""
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(_TOOL_HINTS[tool])
    return path


def require_java() -> str:
    """Find java and check it is 17+ (Kafka 4.x brokers refuse older JVMs)."""
    java = require("java")
    proc = subprocess.run([java, "-version"], capture_output=True, text=True)
    m = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if m:
        major = int(m.group(1))
        if major == 1 and m.group(2):  # "1.8.0_x" style
            major = int(m.group(2))
        if major < 17:
            raise MissingTool(f"{_TOOL_HINTS['java']} (found Java {major} at {java})")
    return java


# The local JVMs (Kafka, the store, Zipkin) compile with C1 alone. They serve test runs and
# benchmarks of minutes on a 2-core machine, where C2's compilations cost more CPU than its faster
# code gives back. Measured side by side (passthrough, relay and journey benchmark, 2.5-3 min):
# Kafka used 28-33 s of CPU against 55-56 s with C2, the store 48-51 s against 62-71 s; in a
# sessions benchmark C2's compiler threads alone took 10.5-11.2 s of Kafka's (4.8 s serving) and
# 10.1-12.3 s of the store's.
QUICK_JIT: list[str] = ["-XX:TieredStopAtLevel=1"]


def _fingerprint(version: str, *files: Path) -> str:
    h = hashlib.sha256(version.encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _run_step(cmd: list[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(
        cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise InstallError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _copy_jars(pom: Path, libs: Path, what: str, *properties: str) -> None:
    mvn = require("mvn")
    _run_step(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            *properties,
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
        ],
        cwd=pom.parent,
        what=what,
    )


def install_kafka() -> Path:
    """Copy Kafka's runtime jars into the cache (once per version); return the libs dir."""
    target = cache_dir() / f"kafka-{KAFKA_VERSION}"
    libs = target / "libs"
    fp = _fingerprint(KAFKA_VERSION, KAFKA_POM)
    if is_installed(target, fp):
        return libs
    with install_lock(f"kafka-{KAFKA_VERSION}"):
        if is_installed(target, fp):  # another process finished it meanwhile
            return libs
        # Start from scratch: a half-copied or stale libs dir could mix jar versions.
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _copy_jars(
            KAFKA_POM,
            libs,
            f"Downloading Kafka {KAFKA_VERSION} jars with Maven",
            f"-Dkafka.version={KAFKA_VERSION}",
        )
        if not any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
            raise InstallError(f"Maven finished but {libs} has no kafka_2.13-{KAFKA_VERSION}.jar")
        (target / MARKER).write_text(fp + "\n")
    return libs


def install_store() -> str:
    """Copy mongo-java-server's jars (once per version) and compile our launcher (once per version
    of its sources); return the classpath."""
    libs, classes = store_files()
    return f"{classes}:{libs}/*"


def store_files() -> tuple[Path, Path]:
    """The store's jars and our launcher's classes, installed if need be.

    The classes are kept per version of the launcher's sources (`classes-<fingerprint>`), beside
    each other: two clones at different commits share the jars and never remove each other's
    classes, which a running store loads lazily (one removed under a running store, by another
    clone's install, would fail it at its next class)."""
    target = cache_dir() / f"mongo-java-server-{STORE_VERSION}"
    libs = target / "libs"
    sources = sorted(STORE_SOURCES.rglob("*.java"))
    jars = _fingerprint(STORE_VERSION, STORE_POM)
    classes = target / f"classes-{_fingerprint(STORE_VERSION, STORE_POM, *sources)[:16]}"
    if is_installed(target, jars) and is_installed(classes, jars):
        return libs, classes
    with install_lock(f"mongo-java-server-{STORE_VERSION}"):
        if not is_installed(target, jars):
            pom_version = re.search(r"<mongo-java-server.version>(.+?)<", STORE_POM.read_text())
            if pom_version is None or pom_version.group(1) != STORE_VERSION:
                raise InstallError(
                    f"{STORE_POM} and localstack.install.STORE_VERSION ({STORE_VERSION}) disagree"
                )
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            _copy_jars(STORE_POM, libs, f"Downloading mongo-java-server {STORE_VERSION} jars with Maven")
            (target / MARKER).write_text(jars + "\n")
        if not is_installed(classes, jars):
            javac = require("javac")
            building = target / f".{classes.name}.building"
            shutil.rmtree(building, ignore_errors=True)
            _run_step(
                [javac, "--release", "17", "-d", str(building), "-cp", f"{libs}/*", *map(str, sources)],
                cwd=target,
                what="Compiling the store launcher",
            )
            (building / MARKER).write_text(jars + "\n")
            shutil.rmtree(classes, ignore_errors=True)
            building.rename(classes)  # whole or not at all, for a store starting meanwhile
    return libs, classes
