"""Mentoring circles (domain): sizes, similar career stage, mixed departments, facilitator rota."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.domain.circles import circle_sizes, form_circles
from matching.domain.cohort import MatchProfile, level_rank

pytestmark = pytest.mark.fast  # the engine alone: no server

LEVELS = ["junior", "mid", "senior", "lead"]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(2, 5), st.integers(0, 3))
def test_circle_sizes_stay_within_bounds_and_leave_fewer_than_a_circle(
    count: int, smallest: int, spread: int
) -> None:
    largest = smallest + spread
    sizes = circle_sizes(count, smallest, largest)
    assert all(smallest <= size <= largest for size in sizes)
    assert 0 <= count - sum(sizes) < smallest
    if sum(sizes) == count and sizes:
        assert max(sizes) - min(sizes) <= 1


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(LEVELS),
            st.sampled_from(["eng", "sales", "hr", "ops"]),
            st.sampled_from(["a", "b", "c"]),
        ),
        min_size=4,
        max_size=30,
    )
)
def test_circles_group_similar_stages_with_a_rota_of_their_members(
    people: list[tuple[str, str, str]],
) -> None:
    members = [
        MatchProfile(f"p{k}", "org", level=level, department=department, skills_wanted=(topic,))
        for k, (level, department, topic) in enumerate(people)
    ]
    circles = form_circles(members, 4, 6)
    placed = [m for c in circles for m in c.member_ids]
    assert len(placed) == len(set(placed))
    assert len(placed) == sum(circle_sizes(len(members), 4, 6))
    by_id = {m.person_id: m for m in members}
    ranks = sorted(level_rank(m) for m in members)
    for circle in circles:
        assert 4 <= len(circle.member_ids) <= 6
        assert sorted(circle.facilitator_rota) == sorted(circle.member_ids)
        stages = [level_rank(by_id[m]) for m in circle.member_ids]
        # Never wider than the widest window of consecutive stages of the same size.
        window = len(stages)
        widest = max(ranks[k + window - 1] - ranks[k] for k in range(len(ranks) - window + 1))
        assert max(stages) - min(stages) <= widest
        assert set(circle.topics) <= {t for m in circle.member_ids for t in by_id[m].skills_wanted}


def test_swaps_mix_departments_within_the_same_stage() -> None:
    members = [MatchProfile(f"e{k}", "org", level="mid", department="eng") for k in range(4)] + [
        MatchProfile(f"s{k}", "org", level="mid", department="sales") for k in range(4)
    ]
    circles = form_circles(members, 4, 4)
    assert len(circles) == 2
    for circle in circles:
        assert {m[0] for m in circle.member_ids} == {"e", "s"}
    assert circles[0].facilitator_rota[0] == sorted(circles[0].member_ids)[0]
