"""The venv's interpreter built into the install cache (deploy/local/interpreter.py): sources
checked against their pinned hash, installed whole or not at all, built once. The build's own steps
(configure, make) are replaced here by ones that lay out what `make install` would: the real build
takes about 14 minutes and runs at `make install`."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import interpreter
import pytest

pytestmark = pytest.mark.fast


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MENTORSHIP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def pinned_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source tarball whose hash is the pinned one, named by MENTORSHIP_PYTHON_SOURCE."""
    tarball = tmp_path / "source.tar.xz"
    monkeypatch.setattr(interpreter, "SOURCE_SHA256", _source_tarball(tarball))
    monkeypatch.setenv("MENTORSHIP_PYTHON_SOURCE", str(tarball))


def _source_tarball(path: Path) -> str:
    """A tarball laid out as the release's (one Python-X.Y.Z directory); returns its SHA-256."""
    with tarfile.open(path, "w:xz") as archive:
        data = b"#!/bin/sh\n"
        member = tarfile.TarInfo(f"Python-{interpreter.VERSION}/configure")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fake_steps(python_body: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace configure and make; `make install` stages an interpreter whose body is given."""
    ran: list[str] = []

    def step(command: list[str], cwd: Path, log: Path, what: str) -> None:
        ran.append(what)
        assert (cwd / "configure").is_file()  # run in the unpacked sources
        if what == "make install":
            staging = Path(command[-1].removeprefix("DESTDIR="))
            target = interpreter.prefix()
            python = staging / target.relative_to(target.anchor) / "bin" / interpreter.interpreter().name
            python.parent.mkdir(parents=True)
            python.write_text(python_body)
            python.chmod(0o755)

    monkeypatch.setattr(interpreter, "_step", step)
    return ran


def test_a_source_of_other_bytes_than_the_pinned_ones_is_refused_and_nothing_is_installed(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball = tmp_path / "other.tar.xz"
    digest = _source_tarball(tarball)
    monkeypatch.setenv("MENTORSHIP_PYTHON_SOURCE", str(tarball))
    ran = _fake_steps("#!/bin/sh\n", monkeypatch)
    with pytest.raises(
        interpreter.BuildError, match=f"SHA-256 {digest}, expected {interpreter.SOURCE_SHA256}"
    ):
        interpreter.build()
    assert ran == []
    assert not interpreter.prefix().exists()
    assert [p.name for p in cache.iterdir() if p.is_dir()] == []  # the work directory went too


@pytest.mark.usefixtures("pinned_source")
def test_a_built_interpreter_is_moved_into_place_whole_and_not_built_again(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands for the built interpreter: the module checks run it as `python -c "import x"`.
    ran = _fake_steps(f'#!/bin/sh\nexec {sys.executable} "$@"\n', monkeypatch)
    assert interpreter.build() == interpreter.interpreter()
    assert ran == ["configure", "make", "make install"]
    assert (interpreter.prefix() / interpreter.MARKER).read_text().strip() == interpreter.SOURCE_SHA256
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [interpreter.prefix().name]
    assert interpreter.build() == interpreter.interpreter()
    assert ran == ["configure", "make", "make install"]  # nothing ran the second time
    printed = subprocess.run(
        [sys.executable, interpreter.__file__, "--path"], capture_output=True, text=True, check=True
    )
    assert printed.stdout.strip() == str(interpreter.interpreter())


@pytest.mark.usefixtures("pinned_source")
def test_an_interpreter_that_lacks_a_standard_module_is_removed_and_the_package_is_named(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Configure found no libssl headers: every import works but ssl's.
    body = f'#!/bin/sh\ncase "$2" in "import ssl") exit 1;; esac\nexec {sys.executable} "$@"\n'
    _fake_steps(body, monkeypatch)
    with pytest.raises(interpreter.BuildError, match=r"lacks ssl \(apt-get install libssl-dev\)"):
        interpreter.build()
    assert not interpreter.prefix().exists()
