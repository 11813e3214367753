"""The store launcher's install: clones at different commits share the install cache, so each
version of the launcher's sources keeps its own compiled classes beside the others (a store runs
from its classes and loads them lazily: one removed by another clone's install would fail it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from localstack import install


def test_each_version_of_the_launcher_keeps_its_classes_and_shares_the_jars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs, _ = install.store_files()  # the machine's cache: the jars to share
    cache = tmp_path / "cache"
    target = cache / f"mongo-java-server-{install.STORE_VERSION}"
    shutil.copytree(libs, target / "libs")  # as Maven would copy them, without the download
    (target / install.MARKER).write_text(
        install._fingerprint(install.STORE_VERSION, install.STORE_POM) + "\n"
    )
    monkeypatch.setenv("MENTORSHIP_CACHE", str(cache))
    first = install.install_store()

    # Another clone, whose launcher differs (here: by a comment).
    other = tmp_path / "other-clone"
    shutil.copytree(install.STORE_SOURCES, other)
    launcher = next(other.rglob("StoreLauncher.java"))
    launcher.write_text(launcher.read_text() + "\n// another commit\n")
    monkeypatch.setattr(install, "STORE_SOURCES", other)
    second = install.install_store()

    first_classes, second_classes = (Path(path.split(":")[0]) for path in (first, second))
    assert first_classes != second_classes
    assert first.split(":")[1] == second.split(":")[1]  # one copy of the jars
    for classes in (first_classes, second_classes):
        assert (classes / "mentorship" / "store" / "StoreLauncher.class").is_file()

    # Back at the first version: its classes are there, nothing is compiled again.
    monkeypatch.setattr(install, "STORE_SOURCES", install.HERE / "mongo" / "src" / "main" / "java")
    compiled = []
    monkeypatch.setattr(install, "_run_step", lambda *args, **kwargs: compiled.append(args))
    assert install.install_store() == first
    assert compiled == []
    assert sorted(p.name for p in target.iterdir() if p.name.startswith("classes-")) == sorted(
        [first_classes.name, second_classes.name]
    )
