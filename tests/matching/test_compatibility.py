"""Compatibility scores (domain, no I/O): named components that add up to the score, oriented by
program type, and the hard rules no score can override."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.domain.cohort import MatchProfile, encode_cohort
from matching.domain.cohort_run import run_cohort
from matching.domain.compatibility import (
    MICRO,
    _combinations,
    _distinct_rows,
    allowed_block,
    block_scores,
    contribution_tables,
    explain_pairs,
)
from matching.domain.programs import COMPONENTS, MatchingPolicy, MatchingRules, ProgramType

pytestmark = pytest.mark.fast  # the engine alone: no server

ORG = "org-1"
SKILLS = ["python", "go", "leadership", "sql", "design", "kubernetes"]
LEVELS = ["junior", "mid", "senior", "lead", "principal", None]


def person(person_id: str, **fields: object) -> MatchProfile:
    return MatchProfile(person_id=person_id, org_id=fields.pop("org_id", ORG), **fields)  # type: ignore[arg-type]


@st.composite
def profiles(draw: st.DrawFn, prefix: str, count: int, mentor: bool) -> list[MatchProfile]:
    people = []
    for k in range(count):
        offered = draw(st.lists(st.sampled_from(SKILLS), max_size=3, unique=True)) if mentor else []
        people.append(
            person(
                f"{prefix}{k}",
                org_id=draw(st.sampled_from([ORG, ORG, ORG, "org-2"])),
                department=draw(st.sampled_from(["eng", "sales", "hr", None])),
                level=draw(st.sampled_from(LEVELS)),
                languages=tuple(draw(st.lists(st.sampled_from(["en", "de", "fr"]), max_size=2, unique=True))),
                utc_offset_minutes=draw(st.sampled_from([-300, 0, 60, 330, 540])),
                skills_offered=tuple(offered),
                skill_levels={s: draw(st.sampled_from(["beginner", "advanced", "expert"])) for s in offered},
                skills_wanted=()
                if mentor
                else tuple(draw(st.lists(st.sampled_from(SKILLS), max_size=3, unique=True))),
                goals=""
                if mentor
                else draw(st.sampled_from(["grow into leadership", "learn python testing", ""])),
                experience=draw(st.sampled_from(["led python teams", "leadership coaching", ""]))
                if mentor
                else "",
                communication_style=draw(st.sampled_from(["direct", "reflective", None])),
                modalities=tuple(
                    draw(st.lists(st.sampled_from(["remote", "in_person"]), max_size=2, unique=True))
                ),
                personality=draw(st.sampled_from([(), (1, 3, 5), (5, 5, 1), (3, 3, 3)])),
                peer_mentoring=draw(st.booleans()),
                reverse_mentoring=draw(st.booleans()),
                accepting_mentees=draw(st.booleans()) if mentor else True,
                free_capacity=draw(st.integers(0, 3)) if mentor else 0,
            )
        )
    return people


@st.composite
def cohorts(
    draw: st.DrawFn,
) -> tuple[MatchingPolicy, list[MatchProfile], list[MatchProfile], dict[str, str], list]:
    mentees = draw(profiles("e", draw(st.integers(1, 8)), mentor=False))
    mentors = draw(profiles("m", draw(st.integers(1, 5)), mentor=True))
    everyone = [p.person_id for p in mentees + mentors] + ["boss"]
    managers = {p: draw(st.sampled_from(everyone)) for p in everyone if draw(st.booleans()) and p != "boss"}
    previous = draw(
        st.lists(
            st.tuples(
                st.sampled_from([m.person_id for m in mentees]),
                st.sampled_from([m.person_id for m in mentors]),
            )
        )
    )
    policy = MatchingPolicy(
        org_id=ORG,
        program_type=draw(st.sampled_from(list(ProgramType))),
        rules=MatchingRules(require_shared_language=draw(st.booleans())),
        program_mentor_capacity=draw(st.sampled_from([None, 1, 2])),
    )
    return policy, mentees, mentors, managers, previous


def reporting_line(person_id: str, managers: dict[str, str]) -> set[str]:
    chain, current = set(), managers.get(person_id)
    while current is not None and current not in chain and current != person_id:
        chain.add(current)
        current = managers.get(current)
    return chain


@settings(max_examples=150, deadline=None)
@given(cohorts())
def test_hard_rules_are_never_violated(cohort: tuple) -> None:
    policy, mentees, mentors, managers, previous = cohort
    result = run_cohort(
        policy, mentees, mentors, managers=managers, previous_pairs=previous, shortlist_size=2
    )
    by_id = {p.person_id: p for p in mentees + mentors}
    load: dict[str, int] = {}
    for pair in result.pairs:
        mentee, mentor = by_id[pair.mentee_id], by_id[pair.mentor_id]
        assert mentee.org_id == ORG
        assert mentor.org_id == ORG
        assert mentor.person_id not in reporting_line(mentee.person_id, managers)
        assert mentee.person_id not in reporting_line(mentor.person_id, managers)
        assert (mentee.person_id, mentor.person_id) not in previous
        assert mentor.accepting_mentees
        if policy.rules.require_shared_language and mentee.languages and mentor.languages:
            assert set(mentee.languages) & set(mentor.languages)
        if policy.program_type is ProgramType.PEER:
            assert mentee.peer_mentoring
            assert mentor.peer_mentoring
        if policy.program_type is ProgramType.REVERSE:
            assert mentee.reverse_mentoring
            assert mentor.reverse_mentoring
        load[mentor.person_id] = load.get(mentor.person_id, 0) + 1
    for mentor_id, taken in load.items():
        assert taken <= by_id[mentor_id].free_capacity
        assert policy.program_mentor_capacity is None or taken <= policy.program_mentor_capacity
    assert result.optimal
    assert result.matched == len(result.pairs)
    # Every mentee is either matched or told why not.
    accounted = {p.mentee_id for p in result.pairs} | {u.mentee_id for u in result.unmatched}
    assert {m.person_id for m in mentees} <= accounted


@settings(max_examples=100, deadline=None)
@given(cohorts())
def test_explanation_adds_up_to_the_score_the_solver_used(cohort: tuple) -> None:
    policy, mentees, mentors, managers, previous = cohort
    encoded = encode_cohort(policy, mentees, mentors, managers=managers, previous_pairs=previous)
    if not encoded.mentee_count or not encoded.mentor_count:
        return
    tables = contribution_tables(encoded)
    rows = np.arange(encoded.mentee_count)
    matrix = block_scores(encoded, tables, rows)
    i, j = np.meshgrid(rows, np.arange(encoded.mentor_count), indexing="ij")
    explanations = explain_pairs(encoded, tables, i.ravel(), j.ravel())
    for explanation, expected in zip(explanations, matrix.ravel().tolist(), strict=True):
        assert set(explanation.breakdown) == set(COMPONENTS)
        assert (
            round(sum(explanation.breakdown.values()) * MICRO) == round(explanation.score * MICRO) == expected
        )
        assert 0 <= explanation.score <= 1
        assert all(value >= 0 for value in explanation.breakdown.values())
        assert len(explanation.reasons) <= 3
    # The bulk hard-rule mask agrees with itself on column subsets (used by the certificate).
    cols = np.arange(encoded.mentor_count)[::-1].copy()
    assert (allowed_block(encoded, rows, cols) == allowed_block(encoded, rows)[:, cols]).all()
    assert (block_scores(encoded, tables, rows, cols) == matrix[:, cols]).all()


def score_of(
    policy: MatchingPolicy, mentee: MatchProfile, mentor: MatchProfile
) -> tuple[float, dict[str, float]]:
    encoded = encode_cohort(policy, [mentee], [mentor])
    [explanation] = explain_pairs(encoded, contribution_tables(encoded), np.asarray([0]), np.asarray([0]))
    return explanation.score, explanation.breakdown


def test_level_gap_fits_the_program_type() -> None:
    junior = person("e", level="junior", peer_mentoring=True, reverse_mentoring=True)
    senior = person("m", level="lead", free_capacity=1, peer_mentoring=True, reverse_mentoring=True)
    peer = person("p", level="junior", free_capacity=1, peer_mentoring=True, reverse_mentoring=True)
    one_to_one = MatchingPolicy(org_id=ORG)
    peers = MatchingPolicy(org_id=ORG, program_type=ProgramType.PEER)
    reverse = MatchingPolicy(org_id=ORG, program_type=ProgramType.REVERSE)
    assert (
        score_of(one_to_one, junior, senior)[1]["level_gap"]
        > score_of(one_to_one, junior, peer)[1]["level_gap"]
    )
    assert score_of(peers, junior, peer)[1]["level_gap"] > score_of(peers, junior, senior)[1]["level_gap"]
    senior_mentee = person("s", level="principal", reverse_mentoring=True)
    assert (
        score_of(reverse, senior_mentee, peer)[1]["level_gap"]
        > score_of(reverse, junior, peer)[1]["level_gap"]
    )


def test_rarer_skill_counts_more_than_a_common_one() -> None:
    mentee = person("e", skills_wanted=("python", "rust"))
    python_mentor = person(
        "m1", skills_offered=("python",), skill_levels={"python": "expert"}, free_capacity=1
    )
    rust_mentor = person("m2", skills_offered=("rust",), skill_levels={"rust": "expert"}, free_capacity=1)
    others = [person(f"o{k}", skills_offered=("python",), free_capacity=1) for k in range(5)]
    encoded = encode_cohort(MatchingPolicy(org_id=ORG), [mentee], [python_mentor, rust_mentor, *others])
    python_pair, rust_pair = explain_pairs(
        encoded, contribution_tables(encoded), np.asarray([0, 0]), np.asarray([0, 1])
    )
    assert rust_pair.breakdown["skills"] > python_pair.breakdown["skills"]
    assert rust_pair.reasons[0] == "offers rust (expert)"


def test_expert_mentor_outscores_a_peer_level_one_for_one_to_one_skills() -> None:
    mentee = person("e", skills_wanted=("sql",))
    expert = person("m1", skills_offered=("sql",), skill_levels={"sql": "expert"}, free_capacity=1)
    beginner = person("m2", skills_offered=("sql",), skill_levels={"sql": "beginner"}, free_capacity=1)
    policy = MatchingPolicy(org_id=ORG)
    assert score_of(policy, mentee, expert)[1]["skills"] > score_of(policy, mentee, beginner)[1]["skills"]


def test_goals_similar_to_mentor_experience_score_higher() -> None:
    mentee = person("e", goals="become a confident engineering leadership coach")
    close = person("m1", experience="years of engineering leadership and coaching", free_capacity=1)
    far = person("m2", experience="accounting and tax audits", free_capacity=1)
    policy = MatchingPolicy(org_id=ORG)
    assert score_of(policy, mentee, close)[1]["goals"] > score_of(policy, mentee, far)[1]["goals"] == 0


def test_reporting_line_through_someone_outside_the_run_is_excluded() -> None:
    mentee = person("e", manager_id="middle")
    grand_boss = person("m", free_capacity=2)
    other = person("o", free_capacity=2)
    result = run_cohort(MatchingPolicy(org_id=ORG), [mentee], [grand_boss, other], managers={"middle": "m"})
    assert [(p.mentee_id, p.mentor_id) for p in result.pairs] == [("e", "o")]


def test_rematch_never_repeats_the_previous_pair_and_unmatched_get_a_reason() -> None:
    mentee = person("e", languages=("en",))
    previous_mentor = person("m", languages=("en",), free_capacity=1)
    no_shared_language = person("d", languages=("de",), free_capacity=1)
    result = run_cohort(
        MatchingPolicy(org_id=ORG),
        [mentee],
        [previous_mentor, no_shared_language],
        previous_pairs=[("e", "m")],
    )
    assert result.pairs == []
    assert [u.mentee_id for u in result.unmatched] == ["e"]
    assert "already tried" in result.unmatched[0].reason
    assert "sharing no language" in result.unmatched[0].reason


def _columns(rows: int) -> st.SearchStrategy[list[list[int]]]:
    column = st.lists(st.integers(min_value=-3, max_value=12), min_size=rows, max_size=rows)
    return st.lists(column, min_size=1, max_size=4)


@given(st.integers(min_value=0, max_value=40).flatmap(_columns), st.booleans())
@settings(max_examples=200, deadline=None)
def test_code_combinations_are_the_distinct_rows_in_order(columns: list[list[int]], huge: bool) -> None:
    """The fused tables' rows (codes side by side) and the personality tables' (answers as numbers):
    the distinct rows in sorted order and each person's row among them, as np.unique over rows
    gives them."""
    if huge and columns[0]:
        columns[0][0] = 2**62
    arrays = [np.asarray(column, dtype=np.int64) for column in columns]
    stacked = np.stack(arrays, axis=1)
    for rows, (distinct, code) in (
        (stacked, _combinations(arrays)),
        (stacked / 4.0, _distinct_rows(stacked / 4.0)),
    ):
        if not len(rows):
            assert len(code) == 0
            continue
        expected, expected_code = np.unique(rows, axis=0, return_inverse=True)
        assert distinct.tolist() == expected.tolist()
        assert code.tolist() == expected_code.reshape(-1).tolist()
        assert (distinct[code] == rows).all()


def test_sparse_and_unfused_paths_give_the_same_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    import matching.domain.cohort as cohort_module
    import matching.domain.compatibility as compatibility_module

    mentees = [
        person(
            f"e{k}", skills_wanted=("python", "sql")[: k % 3], goals="lead python data teams", level="junior"
        )
        for k in range(6)
    ]
    mentors = [
        person(
            f"m{k}",
            skills_offered=("python", "sql", "go")[k % 3 :],
            skill_levels={"python": "expert"},
            experience="python teams and data platforms" if k % 2 else "sales leadership",
            department=("eng", "hr")[k % 2],
            personality=((5, 1, 3), ())[k % 2],
            free_capacity=2,
        )
        for k in range(5)
    ]
    policy = MatchingPolicy(org_id=ORG)
    # A run this small keeps its mentor side sparse; the bulk runs' dense one must score the same.
    assert not isinstance(encode_cohort(policy, mentees, mentors).experience_vectors, np.ndarray)
    monkeypatch.setattr(cohort_module, "DENSE_FROM_MENTEES", 0)
    dense = encode_cohort(policy, mentees, mentors)
    assert isinstance(dense.experience_vectors, np.ndarray)
    assert all(isinstance(fits, np.ndarray) for _, fits in dense.skill_terms)
    monkeypatch.setattr(cohort_module, "DENSE_LIMIT", 0)
    monkeypatch.setattr(compatibility_module, "FUSED_TABLE_LIMIT", 0)
    sparse_cohort = encode_cohort(policy, mentees, mentors)
    assert not isinstance(sparse_cohort.experience_vectors, np.ndarray)
    assert not contribution_tables(sparse_cohort).personality_fused
    rows = np.arange(6)
    expected = block_scores(dense, contribution_tables(dense), rows)
    assert (block_scores(sparse_cohort, contribution_tables(sparse_cohort), rows) == expected).all()
    i, j = np.meshgrid(rows, np.arange(5), indexing="ij")
    explained = explain_pairs(sparse_cohort, contribution_tables(sparse_cohort), i.ravel(), j.ravel())
    assert [round(e.score * MICRO) for e in explained] == expected.ravel().tolist()


def test_same_inputs_give_the_same_digest_and_result() -> None:
    mentees = [person("e", skills_wanted=("python",))]
    mentors = [person("m", skills_offered=("python",), free_capacity=1)]
    first = run_cohort(MatchingPolicy(org_id=ORG), mentees, mentors)
    second = run_cohort(MatchingPolicy(org_id=ORG), mentees, mentors)
    assert first.input_digest == second.input_digest
    assert first.summary() == second.summary()
    assert first.summary()["matched"] == 1
    changed = run_cohort(MatchingPolicy(org_id=ORG, load_spread_penalty=0.02), mentees, mentors)
    assert changed.input_digest != first.input_digest


def test_text_scores_do_not_depend_on_the_texts_encoded_before() -> None:
    """Words get their ids once per process, in the order texts arrive: a cohort's goal and
    experience scores must be the same whatever other runs taught the vocabulary first."""
    from matching.domain import cohort as encoding

    policy = MatchingPolicy(org_id=ORG, weights=dict.fromkeys(COMPONENTS, 1.0))
    mentees = [
        person("e1", goals="grow into engineering leadership and coach a data team"),
        person("e2", goals="learn kubernetes operations, then platform design"),
    ]
    mentors = [
        person("m1", experience="engineering leadership, coaching and data teams", free_capacity=1),
        person("m2", experience="platform design on kubernetes; operations", free_capacity=1),
        person("m3", experience="tax audits", free_capacity=1),
    ]

    def scores() -> np.ndarray:
        encoded = encode_cohort(policy, mentees, mentors)
        return block_scores(encoded, contribution_tables(encoded), np.arange(2))

    encoding._word_ids.cache_clear()
    encoding._VOCABULARY.clear()
    first = scores()
    encoding._word_ids.cache_clear()
    encoding._VOCABULARY.clear()
    # Another run first, naming the same words in another order (and words of its own).
    words = "audits platform design engineering leadership coach data team gardening"
    encode_cohort(policy, [person("x", goals=words)], [person("y", experience="cooking")])
    assert (scores() == first).all()
    assert first[0, 0] > first[0, 2]
    assert first[1, 1] > first[1, 2]
