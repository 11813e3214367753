"""The relay's partitioner puts every key where aiokafka's default (the Java client's murmur2) puts
it: other producers of the same keys (FastStream's publisher, other teams' clients) and ours agree
on each aggregate's partition, so its events stay in order."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from servicekit.kafka import KeyPartitioner

pytestmark = pytest.mark.fast


def test_every_key_goes_where_the_default_partitioner_puts_it_kept_or_not() -> None:
    default, kept = DefaultPartitioner(), KeyPartitioner(kept=50)
    keys = [f"org-{n % 7}:person-{n}".encode() for n in range(200)] + [b"", "pärchen-ü".encode()]
    for partitions in ([0], list(range(3)), list(range(12)), [2, 5, 7]):
        for _ in range(2):  # the second time from what was kept (or after starting afresh)
            for key in keys:
                assert kept(key, partitions, partitions) == default(key, partitions, partitions)


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert KeyPartitioner()(None, [0, 1, 2, 3], [2]) == 2
