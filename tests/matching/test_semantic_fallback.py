"""The goals component when only some people have embeddings yet (domain, no model): each pair gets the
semantic value when both people have vectors and TF-IDF otherwise, exactly (bulk = one pair, certified
optimum), explained in passages or shared words; the run's digest records the embeddings; the value of
each component of a pair comes from the engine, in the run that made the pair."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matching.domain.cohort import MatchProfile, encode_cohort
from matching.domain.cohort_run import input_digest, run_cohort, solve_cohort
from matching.domain.compatibility import (
    MICRO,
    block_scores,
    contribution_tables,
    contributions,
    explain_pairs,
)
from matching.domain.pair_components import pair_components
from matching.domain.programs import COMPONENTS, MatchingPolicy, ProgramType
from matching.domain.semantic import Passage, PassageKind, SemanticProfile
from matching.domain.semantic_goals import ProfileTexts, SemanticGoals, Side, _mixed
from mentorship_schemas.events import PersonRole

pytestmark = pytest.mark.fast
ORG = "org-1"
DIMENSIONS = 8


def _semantic(person_id: str, kind: PassageKind, text: str, rng: np.random.Generator) -> SemanticProfile:
    vector = rng.normal(size=(1, DIMENSIONS)).astype(np.float32)
    return SemanticProfile(person_id, (Passage(kind, text),), vector / np.linalg.norm(vector))


def _org(seed: int, people: int = 12) -> tuple[list[MatchProfile], list[MatchProfile], SemanticGoals]:
    """Mentees and mentors with goal and experience texts (TF-IDF has something to say); every
    other person has vectors."""
    rng = np.random.default_rng(seed)
    words = ["data", "team", "speaking", "python", "finance", "design", "hiring", "sales"]
    mentees = [
        MatchProfile(f"e{i}", ORG, goals=" ".join(rng.choice(words, 3)), languages=("en",))
        for i in range(people)
    ]
    mentors = [
        MatchProfile(
            f"r{j}", ORG, experience=" ".join(rng.choice(words, 3)), languages=("en",), free_capacity=2
        )
        for j in range(people // 2)
    ]
    goals = SemanticGoals(
        mentees={m.person_id: _semantic(m.person_id, PassageKind.GOAL, m.goals, rng) for m in mentees[::2]},
        mentors={
            m.person_id: _semantic(m.person_id, PassageKind.EXPERIENCE, m.experience, rng)
            for m in mentors[::2]
        },
        dimensions=DIMENSIONS,
    )
    return mentees, mentors, goals


def _goal_points(policy: MatchingPolicy, cohort: object) -> np.ndarray:
    rows, cols = np.indices((cohort.mentee_count, cohort.mentor_count))  # type: ignore[attr-defined]
    parts = contributions(cohort, contribution_tables(cohort), rows.ravel(), cols.ravel(), pairwise=True)  # type: ignore[arg-type]
    return parts["goals"].reshape(rows.shape)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_pair_is_scored_on_embeddings_when_both_have_them_and_on_tfidf_otherwise(seed: int) -> None:
    mentees, mentors, goals = _org(seed)
    policy = MatchingPolicy(org_id=ORG)
    tfidf = encode_cohort(policy, mentees, mentors)
    everyone = SemanticGoals(
        {
            **{
                m.person_id: goals.mentees.get(m.person_id) or next(iter(goals.mentees.values()))
                for m in mentees
            }
        },
        {
            **{
                m.person_id: goals.mentors.get(m.person_id) or next(iter(goals.mentors.values()))
                for m in mentors
            }
        },
        DIMENSIONS,
    )
    mixed_points = _goal_points(policy, goals.applied_to(tfidf))
    tfidf_points = _goal_points(policy, tfidf)
    semantic_points = _goal_points(policy, everyone.applied_to(tfidf))
    for i, mentee in enumerate(mentees):
        for j, mentor in enumerate(mentors):
            both = mentee.person_id in goals.mentees and mentor.person_id in goals.mentors
            expected = semantic_points[i, j] if both else tfidf_points[i, j]
            assert mixed_points[i, j] == expected, (mentee.person_id, mentor.person_id)
    assert (tfidf_points > 0).any()
    assert (semantic_points != tfidf_points).any()


@pytest.mark.parametrize("seed", [4, 5])
def test_a_mixed_cohort_keeps_bulk_and_single_pair_scores_identical_and_the_run_certified(seed: int) -> None:
    mentees, mentors, goals = _org(seed, people=30)
    policy = MatchingPolicy(org_id=ORG)
    cohort = goals.applied_to(encode_cohort(policy, mentees, mentors))
    tables = contribution_tables(cohort)
    rows = np.arange(cohort.mentee_count)
    bulk = block_scores(cohort, tables, rows)
    grid_rows, grid_cols = np.indices(bulk.shape)
    parts = contributions(cohort, tables, grid_rows.ravel(), grid_cols.ravel(), pairwise=True)
    assert np.array_equal(bulk.ravel(), sum(parts[name] for name in COMPONENTS))
    result = run_cohort(policy, mentees, mentors, goals=goals)
    assert result.optimal
    for pair in result.pairs:
        i = next(k for k, m in enumerate(cohort.mentees) if m.person_id == pair.mentee_id)
        j = next(k for k, m in enumerate(cohort.mentors) if m.person_id == pair.mentor_id)
        assert round(pair.score * MICRO) == int(bulk[i, j])


@pytest.mark.parametrize("seed", [6, 7])
def test_people_without_vectors_who_wrote_nothing_keep_a_run_on_the_embedded_path_with_the_same_values(
    seed: int,
) -> None:
    """Wordless and without vectors, a person is valued 0 on either path: the run stays embedded (as
    the zero direction), and every pair's goal points are what the mixed path gives. One person
    without vectors who did write something sends the run to the mixed path."""
    mentees, mentors, goals = _org(seed, people=30)
    mentees = [replace(m, goals="") if m.person_id not in goals.mentees else m for m in mentees]
    mentors = [replace(m, experience="") if m.person_id not in goals.mentors else m for m in mentors]
    policy = MatchingPolicy(org_id=ORG)
    encoded = encode_cohort(policy, mentees, mentors)
    embedded = goals.applied_to(encoded)
    assert isinstance(embedded.goal_vectors, np.ndarray), "the embedded path, not the mixed one"
    has_mentee = np.asarray([m.person_id in goals.mentees for m in encoded.mentees])
    has_mentor = np.asarray([m.person_id in goals.mentors for m in encoded.mentors])
    mixed = _mixed(encoded, goals, has_mentee, has_mentor)
    assert np.array_equal(_goal_points(policy, embedded), _goal_points(policy, mixed))
    assert _goal_points(policy, embedded).any()
    run = run_cohort(policy, mentees, mentors, goals=goals)
    assert run.optimal

    wrote = next(k for k, m in enumerate(mentees) if m.person_id not in goals.mentees)
    mentees[wrote] = replace(mentees[wrote], goals="data team hiring")
    assert not isinstance(goals.applied_to(encode_cohort(policy, mentees, mentors)).goal_vectors, np.ndarray)


def test_explanation_words_the_goal_in_passages_or_in_shared_words_for_a_fallback_pair() -> None:
    mentee = MatchProfile("e", ORG, goals="lead a data team")
    embedded_mentor = MatchProfile("r1", ORG, experience="managed analysts", free_capacity=1)
    plain_mentor = MatchProfile("r2", ORG, experience="data platform lead", free_capacity=1)
    direction = np.ones((1, DIMENSIONS), dtype=np.float32) / np.sqrt(DIMENSIONS)
    goals = SemanticGoals(
        {"e": SemanticProfile("e", (Passage(PassageKind.GOAL, "lead a data team"),), direction)},
        {"r1": SemanticProfile("r1", (Passage(PassageKind.EXPERIENCE, "managed analysts"),), direction)},
        DIMENSIONS,
    )
    reasons = {
        p.mentor_id: p.reasons
        for p in run_cohort(MatchingPolicy(org_id=ORG), [mentee], [embedded_mentor], goals=goals).pairs
    }
    assert "your goal 'lead a data team' matches their experience 'managed analysts'" in reasons["r1"]
    reason = goals.reason()
    assert reason(mentee, plain_mentor) == "experience matches your goals: data, lead"


def test_the_run_digest_records_the_embeddings_it_scored_on() -> None:
    mentees, mentors, goals = _org(7)
    policy = MatchingPolicy(org_id=ORG)
    plain = input_digest(policy, mentees, mentors, [])
    semantic = input_digest(policy, mentees, mentors, [], goals=goals)
    other = SemanticGoals(dict(goals.mentees), {}, DIMENSIONS)
    assert len({plain, semantic, input_digest(policy, mentees, mentors, [], goals=other)}) == 3
    assert semantic == input_digest(policy, mentees, mentors, [], goals=goals)


def test_pair_components_are_the_engines_values_with_the_weights_left_out() -> None:
    mentee = MatchProfile(
        "e", ORG, level="junior", languages=("en",), skills_wanted=("python",), goals="lead a data team",
        utc_offset_minutes=0, modalities=("remote",), department="sales",
    )  # fmt: skip
    mentor = MatchProfile(
        "r", ORG, level="senior", languages=("en", "de"), skills_offered=("python",), utc_offset_minutes=120,
        experience="data team lead", modalities=("remote",), department="it", accepting_mentees=False,
    )  # fmt: skip
    values = pair_components(ProgramType.ONE_TO_ONE, mentee, mentor)
    assert set(values) == set(COMPONENTS)
    assert (values["language"], values["modality"], values["cross_department"]) == (1.0, 1.0, 1.0)
    assert values["timezone"] == pytest.approx(6 / 8, abs=1e-4)
    assert values["level_gap"] == pytest.approx(0.9, abs=1e-4)  # two steps up
    assert 0.0 < values["goals"] < 1.0
    # The same values whatever the weights would be: a policy weighting only goals gives that value.
    policy = MatchingPolicy(org_id=ORG, weights={"goals": 1.0})
    result = run_cohort(policy, [mentee], [replace(mentor, accepting_mentees=True, free_capacity=1)])
    assert result.pairs[0].score == pytest.approx(values["goals"], abs=1e-5)


def test_a_runs_pairs_carry_each_components_value_in_that_run_even_where_the_weight_is_zero() -> None:
    mentees, mentors, goals = _org(seed=5)
    # Only goals weighted: the score is the goals value, and the other values are there all the same.
    policy = MatchingPolicy(org_id=ORG, weights={"goals": 1.0})
    result = solve_cohort(policy, mentees, mentors, goals=goals)
    assert len(result.pairs) == len(mentees)
    for pair in result.pairs:
        assert pair.components is not None
        assert set(pair.components) == set(COMPONENTS)
        assert all(0.0 <= value <= 1.0 for value in pair.components.values())
        assert pair.components["goals"] == pytest.approx(pair.score, abs=2e-5)  # both rounded
        assert pair.components["language"] == 1.0  # everyone speaks English, weighted or not
    # The values are the run's: in a run of the two alone, the same as for a pair valued on its own.
    mentee, mentor = mentees[0], mentors[0]
    (alone,) = solve_cohort(MatchingPolicy(org_id=ORG), [mentee], [mentor], goals=goals).pairs
    assert alone.components == pair_components(ProgramType.ONE_TO_ONE, mentee, mentor, goals)
    # Explanations for the portal (suggestions) do not pay for them.
    cohort = encode_cohort(policy, mentees, mentors)
    one = np.zeros(1, dtype=np.int64)
    (explained,) = explain_pairs(cohort, contribution_tables(cohort), one, one)
    assert explained.components is None


def test_each_role_embeds_its_own_texts() -> None:
    texts = ProfileTexts(
        goals="Lead a data team.", challenges="Public speaking", title="Head of analytics",
        skills_offered=("data-analysis",), can_help_with=("career changes",),
    )  # fmt: skip
    sides = texts.passages([PersonRole.MENTEE, PersonRole.MENTOR])
    assert [p.text for p in sides[Side.MENTEE]] == ["Lead a data team", "Public speaking"]
    assert [p.text for p in sides[Side.MENTOR]] == ["Head of analytics", "data analysis", "career changes"]
    assert list(texts.passages([PersonRole.MENTOR])) == [Side.MENTOR]
    mentee = texts.passages([PersonRole.MENTEE])
    assert ProfileTexts.digest(mentee, "m") != ProfileTexts.digest(mentee, "other-model")
    same = ProfileTexts(goals="Lead a data team.", challenges="Public speaking")
    assert ProfileTexts.digest(mentee, "m") == ProfileTexts.digest(same.passages([PersonRole.MENTEE]), "m")


def test_a_run_sent_only_its_peoples_embeddings_pairs_and_digests_as_with_the_whole_orgs() -> None:
    """What the engine's process is sent: the embeddings of the run's people (the org's others, the
    paired and the full mentors, were most of each run's pickle)."""
    mentees, mentors, goals = _org(seed=11, people=16)
    rng = np.random.default_rng(3)
    others = {f"x{n}": _semantic(f"x{n}", PassageKind.GOAL, "hiring", rng) for n in range(5)}
    org_wide = SemanticGoals({**goals.mentees, **others}, {**goals.mentors, **others}, DIMENSIONS)
    run_mentees, run_mentors = mentees[:10], mentors[1:]
    mentee_ids, mentor_ids = [m.person_id for m in run_mentees], [m.person_id for m in run_mentors]

    sent = org_wide.of(mentee_ids, mentor_ids)

    assert set(sent.mentees) == set(mentee_ids) & set(goals.mentees)
    assert set(sent.mentors) == set(mentor_ids) & set(goals.mentors)
    policy = MatchingPolicy(org_id=ORG)
    whole = run_cohort(policy, run_mentees, run_mentors, goals=org_wide)
    alone = run_cohort(policy, run_mentees, run_mentors, goals=sent)
    assert whole.pairs
    assert [(p.mentee_id, p.mentor_id, p.score, p.reasons) for p in alone.pairs] == [
        (p.mentee_id, p.mentor_id, p.score, p.reasons) for p in whole.pairs
    ]
    assert alone.input_digest == whole.input_digest
