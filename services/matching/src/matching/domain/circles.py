"""Mentoring circles: groups of a configured size, of similar career stage, mixing departments and
covering the members' wanted topics, each with a facilitator rota."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

from matching.domain.cohort import UNKNOWN_LEVEL, MatchProfile, level_rank


@dataclass(frozen=True)
class Circle:
    member_ids: tuple[str, ...]
    facilitator_rota: tuple[str, ...]
    topics: tuple[str, ...]


def circle_sizes(member_count: int, smallest: int, largest: int) -> list[int]:
    """Sizes within [smallest, largest] placing as many members as possible in as few circles as
    the largest size allows, as even as possible. Fewer than `smallest` members may be left over."""
    if smallest < 2 or largest < smallest:
        raise ValueError("circle sizes need 2 <= smallest <= largest")
    count = math.ceil(member_count / largest)
    if count * smallest <= member_count:
        base, extra = divmod(member_count, count) if count else (0, 0)
        return [base + 1 if k < extra else base for k in range(count)]
    # Not enough members for one more circle: full circles, the rest (< smallest) wait.
    return [largest] * (count - 1)


def _mix(group: list[MatchProfile]) -> tuple[int, int]:
    """(distinct departments, wanted topics shared by at least two members): higher is better."""
    departments = len({m.department for m in group if m.department})
    wanted = Counter(s for m in group for s in set(m.skills_wanted))
    return departments, sum(1 for count in wanted.values() if count >= 2)


def form_circles(
    members: list[MatchProfile], smallest: int = 4, largest: int = 6, topics: int = 3
) -> list[Circle]:
    """Members sorted by career stage are cut into consecutive circles; then members of the same
    stage are swapped between neighbouring circles while that mixes departments or shared topics
    better (stage stays similar because only equal stages swap). Members left over by
    `circle_sizes` (fewer than `smallest`, the last in stage order) wait for the next run."""
    ordered = sorted(
        members, key=lambda m: (level_rank(m) if level_rank(m) != UNKNOWN_LEVEL else 2, m.person_id)
    )
    groups: list[list[MatchProfile]] = []
    start = 0
    for size in circle_sizes(len(ordered), smallest, largest):
        groups.append(ordered[start : start + size])
        start += size
    improved = True
    while improved:
        improved = False
        for left, right in itertools.pairwise(groups):
            for a in range(len(left)):
                for b in range(len(right)):
                    if level_rank(left[a]) != level_rank(right[b]):
                        continue
                    before = tuple(x + y for x, y in zip(_mix(left), _mix(right), strict=True))
                    left[a], right[b] = right[b], left[a]
                    after = tuple(x + y for x, y in zip(_mix(left), _mix(right), strict=True))
                    if after > before:
                        improved = True
                    else:
                        left[a], right[b] = right[b], left[a]
    circles = []
    for group in groups:
        # The most senior facilitates first; ties by id so the rota is reproducible.
        rota = sorted(
            group, key=lambda m: (-level_rank(m) if level_rank(m) != UNKNOWN_LEVEL else 0, m.person_id)
        )
        wanted = Counter(s for m in group for s in set(m.skills_wanted))
        circles.append(
            Circle(
                member_ids=tuple(sorted(m.person_id for m in group)),
                facilitator_rota=tuple(m.person_id for m in rota),
                topics=tuple(
                    s for s, _ in sorted(wanted.items(), key=lambda item: (-item[1], item[0]))[:topics]
                ),
            )
        )
    return circles
