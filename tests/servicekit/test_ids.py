"""Derived ids: stored ids depend on them, so they are pinned to `uuid.uuid5`, value for value."""

from __future__ import annotations

import random
import uuid

import pytest
from servicekit.ids import _NAMESPACE, derived_id

pytestmark = pytest.mark.fast


def test_a_derived_id_is_the_uuid5_of_the_parts_joined_by_a_unit_separator() -> None:
    alphabet = "abcxyz019-_ .:/\x1féüß中文😀"
    draws = random.Random(7)
    cases = [("pair-1", "kickoff"), ("",), ("a", ""), ("é", "中文", "😀")]
    cases += [
        tuple("".join(draws.choices(alphabet, k=draws.randint(0, 40))) for _ in range(draws.randint(1, 4)))
        for _ in range(2000)
    ]
    for parts in cases:
        assert derived_id(*parts) == str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts))), parts


def test_a_derived_id_has_kept_its_value() -> None:
    # Computed once with `uuid.uuid5` of our namespace: events and documents stored carry such ids.
    assert derived_id("pair-1", "kickoff") == "c49cdabf-e138-593e-be85-48a27a4e7b25"
