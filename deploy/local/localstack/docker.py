"""A private Docker engine for `make test-deploy`, and the images it needs where no image registry
is reachable: a Debian base made with debootstrap, a JRE base on it, our stand-ins for the official
Kafka, MongoDB and Zipkin images, and the platform image from deploy/docker/Dockerfile.

Debian's dockerd runs with no iptables and no default bridge (compose's own networks still work),
its socket, pid and exec root in a short state dir and its images in the cache (`data_root`), so
later runs reuse the layers. Builds use the host's network (the daemon has no default bridge).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from localstack.errors import InstallError, MissingTool
from localstack.install import (
    KAFKA_VERSION,
    STORE_VERSION,
    cache_dir,
    install_kafka,
    install_lock,
    store_files,
)
from localstack.process import ManagedServer
from localstack.tools import install_zipkin

REPO = Path(__file__).resolve().parents[3]
STANDINS = REPO / "deploy" / "docker" / "standins"
PYTHON_BASE = "mentorship-local/python-base:bookworm"
JAVA_BASE = "mentorship-local/java-base:bookworm"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

_HINTS = {
    "dockerd": "dockerd is Debian's docker.io package: apt-get install docker.io",
    "docker": "the docker CLI comes with Debian's docker.io package: apt-get install docker.io",
    "debootstrap": "debootstrap makes the local base image: apt-get install debootstrap",
}


def require_tool(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(_HINTS[tool])
    return path


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=3)
        self._path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(3)
        sock.connect(self._path)
        self.sock = sock


class DockerDaemon(ManagedServer):
    """dockerd with everything of its own under state_dir, images under data_root."""

    name = "dockerd"
    cmd_marker = "dockerd"

    def __init__(self, state_dir: Path, data_root: Path | None = None) -> None:
        super().__init__(state_dir)
        self.data_root = (data_root or cache_dir() / "docker-data").resolve()
        self.socket = self.dir / "docker.sock"
        self.log = self.dir / "dockerd.log"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        """Environment for the docker CLI and compose: this daemon, the classic builder (the
        daemon is 20.10; no buildx plugin is needed)."""
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def start(self, timeout: float = 60) -> None:
        if self.is_running():
            self._wait_ready(timeout, self._protocol_ok, [self.log])
            return
        dockerd = require_tool("dockerd")
        self.data_root.mkdir(parents=True, exist_ok=True)
        cmd = [
            dockerd,
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--default-ulimit",
            "nofile=1024:1024",
            "--default-ulimit",
            "nproc=4096:4096",
            f"--data-root={self.data_root}",
            f"--exec-root={self.dir / 'exec'}",
            f"--pidfile={self.dir / 'daemon.pid'}",  # dockerd.pid is ours (ManagedServer)
            f"--host={self.host}",
        ]
        self.socket.unlink(missing_ok=True)
        self._spawn(cmd, self.log, {})
        self._wait_ready(timeout, self._protocol_ok, [self.log])

    def stop(self, timeout: float = 30) -> None:
        super().stop(timeout)
        self._release_mounts()

    def _release_mounts(self) -> None:
        """dockerd leaves its network namespace file and the data root's private bind mount
        mounted when it exits; unmount them so the folders can be removed."""
        umount = shutil.which("umount")
        if umount is None:
            return
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        ours = [m for m in mounts if m.startswith(f"{self.dir}/") or m == str(self.data_root)]
        for mount in sorted(ours, reverse=True):
            subprocess.run([umount, "-l", mount], capture_output=True)

    def _protocol_ok(self) -> bool:
        connection = _UnixHTTPConnection(self.socket)
        try:
            connection.request("GET", "/_ping")
            return connection.getresponse().read() == b"OK"
        finally:
            connection.close()

    def docker(self, *args: str, cwd: Path | None = None, input_text: str | None = None) -> str:
        """Run the docker CLI against this daemon; raise with its output when it fails."""
        proc = subprocess.run(
            [require_tool("docker"), *args],
            cwd=cwd,
            env=self.env(),
            input=input_text,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise InstallError(f"docker {' '.join(args[:3])} ... failed (exit {proc.returncode}):\n{tail}")
        return proc.stdout

    def has_image(self, tag: str) -> bool:
        try:
            self.docker("image", "inspect", "--format", "{{.Id}}", tag)
        except InstallError:
            return False
        return True

    def build(self, tag: str, context: Path, dockerfile: Path, **build_args: str) -> None:
        args = [f"--build-arg={key}={value}" for key, value in build_args.items()]
        self.docker("build", "--network=host", "-q", "-t", tag, "-f", str(dockerfile), *args, str(context))


def python_base_image(daemon: DockerDaemon) -> str:
    """Debian bookworm (minbase) with python3, venv and the host's CA bundle, made by debootstrap
    and imported: what the official python image is to the Dockerfile, without a registry."""
    if daemon.has_image(PYTHON_BASE):
        return PYTHON_BASE
    debootstrap = require_tool("debootstrap")
    with tempfile.TemporaryDirectory(prefix="python-base-", dir=cache_dir()) as tmp:
        root = Path(tmp) / "rootfs"
        proc = subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(root),
                "http://deb.debian.org/debian",
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise InstallError(f"debootstrap failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        for cached in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            cached.unlink()
        # Builds on this base reach PyPI through the host's TLS setup: trust what the host trusts.
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            'CMD ["python3"]',
        ]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        change_args = [arg for change in changes for arg in ("--change", change)]
        imported = subprocess.run(
            [require_tool("docker"), "import", *change_args, "-", PYTHON_BASE],
            stdin=tar.stdout,
            env=daemon.env(),
            capture_output=True,
            text=True,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise InstallError(f"docker import of the base failed:\n{imported.stderr}")
    return PYTHON_BASE


def java_base_image(daemon: DockerDaemon) -> str:
    """The Python base plus a headless JRE 17 (Debian's), for the Java stand-ins."""
    python_base_image(daemon)
    dockerfile = (
        f"FROM {PYTHON_BASE}\n"
        "RUN apt-get update \\\n"
        " && apt-get install -y --no-install-recommends openjdk-17-jre-headless \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
    )
    with tempfile.TemporaryDirectory(prefix="java-base-") as tmp:
        (Path(tmp) / "Dockerfile").write_text(dockerfile)
        daemon.build(JAVA_BASE, Path(tmp), Path(tmp) / "Dockerfile")
    return JAVA_BASE


def standin_images(daemon: DockerDaemon, tag: str = "test") -> dict[str, str]:
    """Build the Kafka, store and Zipkin stand-ins from the cached jars; return the compose
    variables that select them."""
    base = java_base_image(daemon)
    images = {
        "KAFKA_IMAGE": f"mentorship-local/kafka:{KAFKA_VERSION}-{tag}",
        "MONGODB_IMAGE": f"mentorship-local/store:{STORE_VERSION}-{tag}",
        "ZIPKIN_IMAGE": f"mentorship-local/zipkin:{tag}",
    }
    with tempfile.TemporaryDirectory(prefix="standins-") as tmp:
        kafka = Path(tmp) / "kafka"
        shutil.copytree(install_kafka(), kafka / "libs")
        shutil.copy(STANDINS / "kafka-entrypoint.sh", kafka / "kafka-entrypoint.sh")
        daemon.build(images["KAFKA_IMAGE"], kafka, STANDINS / "kafka.Dockerfile", BASE_IMAGE=base)
        store = Path(tmp) / "store"
        libs, classes = store_files()
        shutil.copytree(libs, store / "libs")
        shutil.copytree(classes, store / "classes")
        daemon.build(images["MONGODB_IMAGE"], store, STANDINS / "store.Dockerfile", BASE_IMAGE=base)
        zipkin = Path(tmp) / "zipkin"
        zipkin.mkdir()
        shutil.copy(install_zipkin(), zipkin / "zipkin.jar")
        daemon.build(images["ZIPKIN_IMAGE"], zipkin, STANDINS / "zipkin.Dockerfile", BASE_IMAGE=base)
    return images


def platform_image(daemon: DockerDaemon, tag: str = "mentorship-platform:test") -> str:
    """deploy/docker/Dockerfile on the local Python base (the official python image elsewhere)."""
    base = python_base_image(daemon)
    daemon.build(tag, REPO, REPO / "deploy" / "docker" / "Dockerfile", BASE_IMAGE=base)
    return tag


def image_size_mb(daemon: DockerDaemon, tag: str) -> float:
    return int(daemon.docker("image", "inspect", "--format", "{{.Size}}", tag).strip()) / 1e6


@contextlib.contextmanager
def running_daemon(state_dir: Path, data_root: Path | None = None) -> Iterator[DockerDaemon]:
    """A started daemon, stopped on exit; one daemon at a time per data root (the cache's)."""
    daemon = DockerDaemon(state_dir, data_root)
    with install_lock(f"docker-data-{daemon.data_root.name}"):
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()
