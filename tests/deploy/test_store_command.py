"""The local store's JVM: C1 alone for the stores of a test run, which live a few minutes; C2 as
well for a store that serves for many minutes (`make bench`, `make run`, `localstack start`)."""

from __future__ import annotations

from pathlib import Path

from localstack import MongoStore


def test_a_long_running_store_compiles_with_c2_and_a_test_store_with_c1_alone(tmp_path: Path) -> None:
    quick = MongoStore(tmp_path / "test", port=27999).command("java", "libs")
    long_running = MongoStore(tmp_path / "bench", port=27999, long_running=True).command("java", "libs")
    assert "-XX:TieredStopAtLevel=1" in quick
    assert not [arg for arg in long_running if arg.startswith("-XX:TieredStopAtLevel")]
    # Otherwise the same launcher, heap and collector.
    assert [arg for arg in quick if arg != "-XX:TieredStopAtLevel=1" and "test" not in arg] == [
        arg for arg in long_running if "bench" not in arg
    ]
