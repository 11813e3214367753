"""Compatibility of mentee x mentor pairs: named, weighted components in integer micro-points.

A score is the sum of its components' contributions, each `floor(1e6 * weight * value)` with the
weights normalised to sum to 1, so a score lies in [0, 1e6] micro-points and its breakdown adds up to
it exactly. The same code computes a whole block of the mentee x mentor matrix (for the solver) and
single pairs (for the explanation), so the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]

from matching.domain.cohort import (
    FIT_SCALE,
    SKILL_WEIGHT_SCALE,
    TEXT_SCALE,
    UNKNOWN_LEVEL,
    Cohort,
    MatchProfile,
    MentorSide,
    level_fit,
    timezone_overlap_hours,
    tokens,
)
from matching.domain.programs import COMPONENTS
from matching.domain.words import language_name

MICRO = 1_000_000
# Largest combined lookup table (entries) worth building: beyond it, components stay separate.
FUSED_TABLE_LIMIT = 16_000_000
Points = npt.NDArray[np.int64]
Index = npt.NDArray[np.int64]


def _table(cohort: Cohort, component: str, values: npt.NDArray[np.float64]) -> Points:
    """Contribution table (micro-points) from a table of component values in [0, 1]."""
    return np.floor(MICRO * cohort.policy.normalised_weight(component) * values).astype(np.int64)


@dataclass
class ContributionTables:
    """Per-cohort lookup tables for the categorical components, built once."""

    level_gap: Points
    communication_style: Points
    timezone: Points
    language_shared: int
    modality_shared: int
    modality_unstated: int
    department_differs: int
    department_unknown: int
    skills_neutral: int
    personality_neutral: int
    skills_factor: float
    goals_factor: float
    personality_weight: float
    # Categorical components summed into a few tables over combined codes, for the bulk path:
    # (mentee codes, mentor codes, table[mentee code, mentor code]).
    fused: list[tuple[Index, Index, npt.NDArray[np.int32]]]
    personality_fused: bool


def contribution_tables(cohort: Cohort) -> ContributionTables:
    program = cohort.policy.program_type
    ranks = UNKNOWN_LEVEL + 1
    level = np.asarray(
        [[level_fit(program, mentor, mentee) for mentor in range(ranks)] for mentee in range(ranks)]
    )
    styles = int(max(cohort.mentee_style.max(initial=0), cohort.mentor_style.max(initial=0))) + 1
    style = np.full((styles, styles), 0.25)
    np.fill_diagonal(style, 1.0)
    style[0, :] = style[:, 0] = 0.5
    offsets = cohort.timezone_offsets
    zone = np.asarray([[timezone_overlap_hours(a, b) / 8.0 for b in offsets] for a in offsets]).reshape(
        len(offsets), len(offsets)
    )
    level_points = _table(cohort, "level_gap", level)
    style_points = _table(cohort, "communication_style", style)
    zone_points = _table(cohort, "timezone", zone)
    fused = [
        _fuse(
            [
                (cohort.mentee_level, cohort.mentor_level, level_points),
                (cohort.mentee_style, cohort.mentor_style, style_points),
                (cohort.mentee_timezone, cohort.mentor_timezone, zone_points),
            ]
        ),
        _language_and_modality(cohort),
    ]
    _add_department(cohort, fused)
    # Personality answers are few distinct vectors in practice: then a table over them, too.
    personality_weight = MICRO * cohort.policy.normalised_weight("personality")
    left, right = _personality_sides(cohort)
    left_rows, left_code = _distinct_rows(left)
    right_rows, right_code = _distinct_rows(right)
    personality_fused = len(left_rows) * len(right_rows) <= FUSED_TABLE_LIMIT
    if personality_fused:
        width = cohort.mentee_personality.shape[1]
        table = _personality_points(left_rows @ right_rows.T, width, personality_weight)
        fused.append((left_code.ravel(), right_code.ravel(), table.astype(np.int32)))

    return ContributionTables(
        fused=fused,
        level_gap=level_points,
        communication_style=style_points,
        timezone=zone_points,
        language_shared=_scalar(cohort, "language", 1.0),
        modality_shared=_scalar(cohort, "modality", 1.0),
        modality_unstated=_scalar(cohort, "modality", 0.5),
        department_differs=_scalar(cohort, "cross_department", 1.0),
        department_unknown=_scalar(cohort, "cross_department", 0.5),
        skills_neutral=_scalar(cohort, "skills", 0.5),
        personality_neutral=_scalar(cohort, "personality", 0.5),
        skills_factor=MICRO * cohort.policy.normalised_weight("skills") / (SKILL_WEIGHT_SCALE * FIT_SCALE),
        goals_factor=MICRO * cohort.policy.normalised_weight("goals") / (TEXT_SCALE * TEXT_SCALE),
        personality_weight=personality_weight,
        personality_fused=personality_fused,
    )


def _scalar(cohort: Cohort, component: str, value: float) -> int:
    return int(_table(cohort, component, np.asarray(value)))


def _language_and_modality(cohort: Cohort) -> tuple[Index, Index, npt.NDArray[np.int32]]:
    """One fused table for the shared-language and the modality components."""
    language_codes, language_values = np.unique(
        np.concatenate([cohort.mentee_languages, cohort.mentor_languages]), return_inverse=True
    )
    modality_codes, modality_values = np.unique(
        np.concatenate([cohort.mentee_modalities, cohort.mentor_modalities]), return_inverse=True
    )
    n = cohort.mentee_count
    shared_language = (language_codes[:, None] & language_codes[None, :]) != 0
    unstated = (modality_codes[:, None] == -1) | (modality_codes[None, :] == -1)
    shared_modality = (modality_codes[:, None] & modality_codes[None, :]) != 0
    return _fuse(
        [
            (
                language_values[:n],
                language_values[n:],
                np.where(shared_language, _scalar(cohort, "language", 1.0), 0),
            ),
            (
                modality_values[:n],
                modality_values[n:],
                np.where(
                    unstated,
                    _scalar(cohort, "modality", 0.5),
                    np.where(shared_modality, _scalar(cohort, "modality", 1.0), 0),
                ),
            ),
        ]
    )


def _add_department(cohort: Cohort, fused: list[tuple[Index, Index, npt.NDArray[np.int32]]]) -> None:
    """The cross-department component, fused into the last table when the product stays small."""
    departments = (
        int(max(cohort.mentee_department.max(initial=0), cohort.mentor_department.max(initial=0))) + 1
    )
    department = np.where(
        np.arange(departments)[:, None] != np.arange(departments)[None, :],
        _scalar(cohort, "cross_department", 1.0),
        0,
    )
    department[0, :] = department[:, 0] = _scalar(cohort, "cross_department", 0.5)
    department_part = (cohort.mentee_department, cohort.mentor_department, department.astype(np.int64))
    last = fused[-1][2]
    if (last.shape[0] * departments) * (last.shape[1] * departments) <= FUSED_TABLE_LIMIT:
        fused[-1] = _fuse([(fused[-1][0], fused[-1][1], last.astype(np.int64)), department_part])
    else:
        fused.append((department_part[0], department_part[1], department.astype(np.int32)))


def contributions(
    cohort: Cohort,
    tables: ContributionTables,
    mentees: Index,
    mentors: Index | None = None,
    *,
    pairwise: bool = False,
) -> dict[str, Points]:
    """Each component's contribution in micro-points.

    Block mode (default): a (len(mentees), len(mentors)) block; `mentors=None` means all mentors.
    Pairwise mode: mentees and mentors are equal-length arrays of pairs; the result is 1-D."""
    all_mentors = mentors is None
    cols = np.arange(cohort.mentor_count) if mentors is None else mentors

    def grid(row_values: npt.NDArray[np.int64], col_values: npt.NDArray[np.int64]) -> tuple[Index, Index]:
        if pairwise:
            return row_values[mentees], col_values[cols]
        return row_values[mentees][:, None], col_values[cols][None, :]

    out: dict[str, Points] = {}
    # Skills: sum over wanted skills of rarity weight x proficiency fit, exact integers.
    shape = (len(mentees),) if pairwise else (len(mentees), len(cols))
    raw_skills = np.zeros(shape, dtype=np.float32)
    for wanted, fits in cohort.skill_terms:
        raw_skills += _product(wanted[mentees], fits, None if all_mentors else cols, pairwise)
    skills = _points(raw_skills, tables.skills_factor)
    neutral = ~cohort.mentee_has_wanted_skills[mentees]
    skills = np.where(neutral if pairwise else neutral[:, None], tables.skills_neutral, skills)
    out["skills"] = skills.astype(np.int64)
    subset = None if all_mentors else cols
    dots = _product(cohort.goal_vectors[mentees], cohort.experience_vectors, subset, pairwise)
    dots = np.clip(dots, np.float32(0), np.float32(TEXT_SCALE * TEXT_SCALE))
    out["goals"] = _points(dots, tables.goals_factor).astype(np.int64)

    a, b = grid(cohort.mentee_level, cohort.mentor_level)
    out["level_gap"] = tables.level_gap[a, b]
    a, b = grid(cohort.mentee_style, cohort.mentor_style)
    out["communication_style"] = tables.communication_style[a, b]

    out["personality"] = _personality(cohort, tables, mentees, cols, pairwise).astype(np.int64)

    a, b = grid(cohort.mentee_timezone, cohort.mentor_timezone)
    out["timezone"] = tables.timezone[a, b]
    a, b = grid(cohort.mentee_languages, cohort.mentor_languages)
    out["language"] = np.where((a & b) != 0, tables.language_shared, 0)
    a, b = grid(cohort.mentee_modalities, cohort.mentor_modalities)
    out["modality"] = np.where(
        (a == -1) | (b == -1), tables.modality_unstated, np.where((a & b) != 0, tables.modality_shared, 0)
    )
    a, b = grid(cohort.mentee_department, cohort.mentor_department)
    out["cross_department"] = np.where(
        (a == 0) | (b == 0), tables.department_unknown, np.where(a != b, tables.department_differs, 0)
    )
    return {name: np.broadcast_to(out[name], shape).astype(np.int64) for name in COMPONENTS}


def _personality(
    cohort: Cohort, tables: ContributionTables, mentees: Index, cols: Index, pairwise: bool
) -> npt.NDArray[np.float32]:
    """|a - b|^2 as a dot product of [a, |a|^2, 1, 0] and [-2b, 1, |b|^2, c], exact for integer
    answers; someone without answers gets vectors that make the dot product c = 8 x questions,
    the midpoint (0.5), whoever the other person is. Same elementwise formula on both paths."""
    left, right = _personality_sides(cohort)
    squared = (left[mentees] * right[cols]).sum(axis=1) if pairwise else left[mentees] @ right[cols].T
    return _personality_points(squared, cohort.mentee_personality.shape[1], tables.personality_weight)


def _personality_sides(cohort: Cohort) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    midpoint = 8.0 * cohort.mentee_personality.shape[1]
    return (
        _personality_vectors(cohort.mentee_personality, cohort.mentee_has_personality, None),
        _personality_vectors(cohort.mentor_personality, cohort.mentor_has_personality, midpoint),
    )


def _personality_points(
    squared: npt.NDArray[np.float32], width: int, weight: float
) -> npt.NDArray[np.float32]:
    # Answers on a 1..5 scale differ by at most 4 per question.
    points = np.multiply(squared.astype(np.float32), np.float32(-weight / (16.0 * width)))
    np.add(points, np.float32(weight), out=points)
    np.maximum(points, np.float32(0.0), out=points)
    return np.floor(points, out=points)


def _personality_vectors(
    answers: npt.NDArray[np.float64], answered: npt.NDArray[np.bool_], midpoint: float | None
) -> npt.NDArray[np.float32]:
    count = len(answers)
    squares = (answers * answers).sum(axis=1, keepdims=True)
    if midpoint is None:  # mentee side: [a, |a|^2, 1, 0], or [0, 0, 0, 1] without answers
        vectors = np.hstack([answers, squares, np.ones((count, 1)), np.zeros((count, 1))])
        vectors[~answered] = 0.0
        vectors[~answered, -1] = 1.0
    else:  # mentor side: [-2b, 1, |b|^2, c], or [0, 0, c, c] without answers
        vectors = np.hstack([-2.0 * answers, np.ones((count, 1)), squares, np.full((count, 1), midpoint)])
        vectors[~answered] = 0.0
        vectors[~answered, -2:] = midpoint
    return vectors.astype(np.float32)


@dataclass(frozen=True)
class FactorSum:
    """Mentee factors that are a sum of products, one part per mentor factor (`experience_vectors` is
    then the tuple of those): the goals component when some people have embeddings and others not
    (domain/semantic_goals.py), a dense semantic part through BLAS plus a sparse TF-IDF part. Rows
    index every part alike. Each part's values are integers and the sum stays below 2**24: exact."""

    parts: tuple[Any, ...]

    def __getitem__(self, rows: Index) -> FactorSum:
        return FactorSum(tuple(part[rows] for part in self.parts))


def _product(
    left: sparse.csr_array | npt.NDArray[np.float32] | FactorSum,
    right: MentorSide,
    cols: Index | None,
    pairwise: bool,
) -> npt.NDArray[np.float32]:
    """Rows of `left` times mentor columns of `right`: a block, or one value per (row, col) pair.
    Values are integers below 2**24, so float32 sums are exact in any order. A dense `left` (the
    semantic goals component's embeddings, see domain/semantic.py) goes through BLAS."""
    if isinstance(left, FactorSum):
        total = _product(left.parts[0], right[0], cols, pairwise)
        for part, mentor_part in zip(left.parts[1:], right[1:], strict=True):
            np.add(total, _product(part, mentor_part, cols, pairwise), out=total)
        return total
    if cols is not None:
        right = right[:, cols]
    if isinstance(left, np.ndarray):
        if pairwise:
            return np.asarray((left * np.asarray(right).T).sum(axis=1), dtype=np.float32)
        return np.asarray(left @ right, dtype=np.float32)
    if pairwise:
        products = left.multiply(right.T if isinstance(right, np.ndarray) else right.T.tocsr())
        return np.asarray(products.sum(axis=1), dtype=np.float32).ravel()
    result = left @ right
    if not isinstance(result, np.ndarray):
        result = result.toarray()
    return np.asarray(result, dtype=np.float32)


def _points(raw: npt.NDArray[np.float32], factor: float) -> npt.NDArray[np.float32]:
    """floor(raw x factor) in float32, in place: the bulk and the pairwise path share it."""
    np.multiply(raw, np.float32(factor), out=raw)
    return np.floor(raw, out=raw)


def _fuse(parts: list[tuple[Index, Index, Points]]) -> tuple[Index, Index, npt.NDArray[np.int32]]:
    """One table over combined codes whose entries are the sums of the parts' entries (exact).

    Only the code combinations that occur get a row or a column: a run of a few mentees against
    thousands of mentors builds a table of a few rows, not one over every combination possible."""
    mentee_rows, mentee_code = _combinations([values for values, _, _ in parts])
    mentor_rows, mentor_code = _combinations([values for _, values, _ in parts])
    table = np.zeros((len(mentee_rows), len(mentor_rows)), dtype=np.int64)
    for k, (_, _, part) in enumerate(parts):
        table += np.asarray(part, dtype=np.int64)[mentee_rows[:, k][:, None], mentor_rows[:, k][None, :]]
    return mentee_code, mentor_code, table.astype(np.int32)


def _combinations(columns: list[Index]) -> tuple[npt.NDArray[np.int64], Index]:
    """The distinct rows of the columns side by side, and each person's row among them."""
    return _distinct_rows(np.stack([np.asarray(column, dtype=np.int64) for column in columns], axis=1))


def _distinct_rows(rows: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], Index]:
    """`np.unique(rows, axis=0, return_inverse=True)`: the distinct rows in the same (lexicographic)
    order and each row's index among them, by a sort of the columns as numbers (np.unique sorts rows
    as records, several times slower: its calls were 12-17 % of a small continuous run)."""
    if len(rows) == 0:
        return rows, np.zeros(0, dtype=np.int64)
    order = np.lexsort(rows.T[::-1])  # the first column most significant
    ordered = rows[order]
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    code = np.empty(len(rows), dtype=np.int64)
    code[order] = np.cumsum(starts) - 1
    return ordered[starts], code


def block_scores(
    cohort: Cohort, tables: ContributionTables, mentees: Index, mentors: Index | None = None
) -> npt.NDArray[np.int32]:
    """Scores (micro-points) of a block of mentees against some mentors (None: every mentor).

    The bulk path: the same contributions as `contributions`, added in place (int32, fused
    categorical tables) to keep memory traffic low; tests check that both paths agree."""
    cols = np.arange(cohort.mentor_count) if mentors is None else mentors
    total: npt.NDArray[np.int32] | None = None
    for mentee_code, mentor_code, table in tables.fused:
        part = np.take(table[mentee_code[mentees]], mentor_code[cols], axis=1)
        total = part if total is None else np.add(total, part, out=total)
    assert total is not None
    subset = None if mentors is None else cols
    raw: npt.NDArray[np.float32] | None = None
    for wanted, fits in cohort.skill_terms:
        term = _product(wanted[mentees], fits, subset, False)
        raw = term if raw is None else np.add(raw, term, out=raw)
    if raw is not None:
        np.add(total, _points(raw, tables.skills_factor), out=total, casting="unsafe")
    neutral = ~cohort.mentee_has_wanted_skills[mentees]
    if neutral.any():
        total[neutral] += tables.skills_neutral
    dots = _product(cohort.goal_vectors[mentees], cohort.experience_vectors, subset, False)
    np.clip(dots, np.float32(0), np.float32(TEXT_SCALE * TEXT_SCALE), out=dots)
    np.add(total, _points(dots, tables.goals_factor), out=total, casting="unsafe")
    if not tables.personality_fused:
        np.add(total, _personality(cohort, tables, mentees, cols, False), out=total, casting="unsafe")
    return total


def allowed_block(cohort: Cohort, mentees: Index, mentors: Index | None = None) -> npt.NDArray[np.bool_]:
    """Hard rules between people, for a block of mentees x some mentors (None: every mentor)."""
    cols = np.arange(cohort.mentor_count) if mentors is None else mentors
    allowed = np.ones((len(mentees), len(cols)), dtype=bool)
    if cohort.policy.rules.require_shared_language:
        # Someone who stated no language cannot be ruled out by this rule (unknown, not none).
        mentee_langs = cohort.mentee_languages[mentees][:, None]
        mentor_langs = cohort.mentor_languages[cols][None, :]
        allowed &= ((mentee_langs & mentor_langs) != 0) | (mentee_langs == 0) | (mentor_langs == 0)
    if len(cohort.forbidden_mentee) and len(mentees):
        # Blocks are contiguous ranges of mentees in the solver; handle any index set all the same.
        position = {int(m): row for row, m in enumerate(mentees)}
        column = np.full(cohort.mentor_count, -1, dtype=np.int64)
        column[cols] = np.arange(len(cols))
        starts = np.searchsorted(cohort.forbidden_mentee, mentees, side="left")
        ends = np.searchsorted(cohort.forbidden_mentee, mentees, side="right")
        for start, end in zip(starts, ends, strict=True):
            for k in range(start, end):
                col = column[cohort.forbidden_mentor[k]]
                if col >= 0:
                    allowed[position[int(cohort.forbidden_mentee[k])], col] = False
    return allowed


def pair_allowed(cohort: Cohort, mentee: int, mentor: int) -> bool:
    return bool(allowed_block(cohort, np.asarray([mentee]))[0, mentor])


@dataclass(frozen=True)
class Explanation:
    """Why a mentor suits a mentee: the score, each component's share of it, the top reasons."""

    mentee_id: str
    mentor_id: str
    score: float
    breakdown: dict[str, float]
    reasons: tuple[str, ...]
    # Each component's value in [0, 1] with the weights left out (what outcomes are learned on),
    # when the caller asked for it.
    components: dict[str, float] | None = None


# The goals reason in words for a (mentee, mentor) pair, or None; by default the shared words.
GoalsReason = Callable[[MatchProfile, MatchProfile], str | None]


def explain_pairs(
    cohort: Cohort,
    tables: ContributionTables,
    mentees: Index,
    mentors: Index,
    goals_reason: GoalsReason | None = None,
    *,
    with_components: bool = False,
) -> list[Explanation]:
    """`goals_reason` words the goals component when it is not word overlap (domain/semantic.py);
    `with_components` adds each pair's unweighted component values (`component_values`)."""
    parts = contributions(cohort, tables, mentees, mentors, pairwise=True)
    values = component_values(cohort, mentees, mentors) if with_components else None
    # Read as lists of ints: a numpy array's items read one at a time cost more.
    columns = [(name, parts[name].astype(np.int64, copy=False).tolist()) for name in COMPONENTS]
    explanations = []
    for k, (i, j) in enumerate(zip(mentees.tolist(), mentors.tolist(), strict=True)):
        points = {name: column[k] for name, column in columns}
        explanations.append(
            Explanation(
                mentee_id=cohort.mentees[i].person_id,
                mentor_id=cohort.mentors[j].person_id,
                score=sum(points.values()) / MICRO,
                breakdown={name: value / MICRO for name, value in points.items()},
                reasons=_reasons(cohort, i, j, points, goals_reason),
                components=None if values is None else values[k],
            )
        )
    return explanations


def component_values(cohort: Cohort, mentees: Index, mentors: Index) -> list[dict[str, float]]:
    """Each component's value in [0, 1] for these (mentee, mentor) pairs of the cohort, as the
    engine scores them with the weights left out: with equal weights, a component's contribution
    divided by its weight is its value (to 1e-5, the micro-point rounding). In the cohort the pairs
    were matched in, so word and skill rarity are the run's own."""
    even = replace(cohort, policy=replace(cohort.policy, weights=dict.fromkeys(COMPONENTS, 1.0)))
    parts = contributions(even, contribution_tables(even), mentees, mentors, pairwise=True)
    share = MICRO * even.policy.normalised_weight("skills")  # every component has this share
    columns = [(name, parts[name].tolist()) for name in COMPONENTS]
    return [
        {name: round(min(1.0, max(0.0, column[k] / share)), 5) for name, column in columns}
        for k in range(len(mentees))
    ]


def _reasons(
    cohort: Cohort, i: int, j: int, points: dict[str, int], goals_reason: GoalsReason | None, top: int = 3
) -> tuple[str, ...]:
    """The largest contributions, in words (only components that actually speak for the pair)."""
    mentee, mentor = cohort.mentees[i], cohort.mentors[j]
    phrases: dict[str, str] = {}
    shared = sorted(set(mentee.skills_wanted) & set(mentor.skills_offered))
    if shared:
        phrases["skills"] = "offers " + ", ".join(
            f"{s} ({mentor.skill_levels.get(s, 'intermediate')})" for s in shared[:4]
        )
    if goals_reason is not None:
        if goals_phrase := goals_reason(mentee, mentor):
            phrases["goals"] = goals_phrase
    elif common_words := sorted(set(tokens(mentee.goals)) & set(tokens(mentor.experience))):
        phrases["goals"] = "experience matches your goals: " + ", ".join(common_words[:4])
    if mentor.level and mentee.level:
        phrases["level_gap"] = f"{mentor.level} mentor for a {mentee.level} mentee"
    if mentee.communication_style and mentee.communication_style == mentor.communication_style:
        phrases["communication_style"] = f"same communication style ({mentor.communication_style})"
    if mentee.personality and mentor.personality:
        phrases["personality"] = "similar answers to the personality questions"
    overlap = timezone_overlap_hours(mentee.utc_offset_minutes, mentor.utc_offset_minutes)
    if overlap > 0:
        phrases["timezone"] = f"{overlap:g} working hours overlap"
    languages = sorted(set(mentee.languages) & set(mentor.languages))
    if languages:
        phrases["language"] = "speaks " + " and ".join(language_name(code) for code in languages)
    modalities = sorted(set(mentee.modalities) & set(mentor.modalities))
    if modalities:
        phrases["modality"] = "both can meet " + " or ".join(m.replace("_", " ") for m in modalities)
    if mentee.department and mentor.department and mentee.department != mentor.department:
        phrases["cross_department"] = f"from another department ({mentor.department})"
    ranked = sorted((name for name in phrases if points[name] > 0), key=lambda name: -points[name])
    return tuple(phrases[name] for name in ranked[:top])
