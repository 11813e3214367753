"""The semantic goals component (domain, no model): passages, the best-matching pair in words, and the
engine on embedding factors staying exact (bulk = one pair = reference optimum) and certified."""

from __future__ import annotations

import numpy as np
import pytest
from matching.domain.assignment import MICRO, shortlist, solve_certified, solve_flow
from matching.domain.cohort import TEXT_SCALE, Cohort, MatchProfile, encode_cohort
from matching.domain.cohort_run import capacities_of, continuous_pairs, row_oracle
from matching.domain.compatibility import block_scores, contribution_tables, contributions, explain_pairs
from matching.domain.org_view import OrgView
from matching.domain.programs import MatchingPolicy
from matching.domain.semantic import (
    Passage,
    PassageKind,
    SemanticProfile,
    best_passage_match,
    goals_similarity,
    mentee_passages,
    mentor_passages,
    semantic_goals_reason,
    semantic_reason,
    split_passages,
    with_semantic_goals,
)
from matching.domain.semantic_goals import SemanticGoals

pytestmark = pytest.mark.fast
ORG = "org-1"


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def profile(person_id: str, passages: tuple[Passage, ...], *vectors: np.ndarray) -> SemanticProfile:
    return SemanticProfile(
        person_id, passages, np.asarray(vectors, dtype=np.float32).reshape(len(passages), -1)
    )


def test_texts_are_cut_into_passages_by_sentence_line_and_bullet() -> None:
    passages = mentee_passages(
        "Lead a data team. Speak at conferences!\n- Mentor juniors", ["deadlines; scope"]
    )
    assert [(p.kind, p.text) for p in passages] == [
        (PassageKind.GOAL, "Lead a data team"),
        (PassageKind.GOAL, "Speak at conferences!"),
        (PassageKind.GOAL, "Mentor juniors"),
        (PassageKind.CHALLENGE, "deadlines"),
        (PassageKind.CHALLENGE, "scope"),
    ]
    mentor = mentor_passages("Managed analytics teams.", ["data-analysis", "sql"], "career changes")
    assert [p.text for p in mentor] == ["Managed analytics teams", "data analysis", "sql", "career changes"]
    assert split_passages(PassageKind.GOAL, "ok. a. \n\n") == []


def test_explanation_names_the_goal_and_the_experience_that_agree_most() -> None:
    mentee = profile(
        "e",
        (Passage(PassageKind.GOAL, "lead a data team"), Passage(PassageKind.CHALLENGE, "public speaking")),
        unit(1, 0, 0),
        unit(0, 1, 0),
    )
    mentor = profile(
        "m",
        (
            Passage(PassageKind.SKILL, "kubernetes"),
            Passage(PassageKind.EXPERIENCE, "managed analytics teams"),
        ),
        unit(0, 0.2, 1),
        unit(0.9, 0.1, 0),
    )
    match = best_passage_match(mentee, mentor)
    assert match is not None
    assert match.mentee_passage.text == "lead a data team"
    assert match.mentor_passage.text == "managed analytics teams"
    assert match.similarity == pytest.approx(float(unit(1, 0, 0) @ unit(0.9, 0.1, 0)))
    assert semantic_reason(mentee, mentor) == (
        "your goal 'lead a data team' matches their experience 'managed analytics teams'"
    )


def test_no_reason_is_claimed_when_no_passages_agree_or_a_profile_is_missing() -> None:
    mentee = profile("e", (Passage(PassageKind.GOAL, "lead a data team"),), unit(1, 0, 0))
    mentor = profile("m", (Passage(PassageKind.EXPERIENCE, "baked bread"),), unit(0.1, 1, 0))
    assert best_passage_match(mentee, mentor) is None
    assert semantic_reason(mentee, None) is None
    empty = SemanticProfile("x", (), np.zeros((0, 3), dtype=np.float32))
    assert semantic_reason(mentee, empty) is None
    assert goals_similarity(mentee, empty) == 0.0


def test_goals_value_is_the_cosine_of_mean_directions_clipped_at_zero() -> None:
    mentee = profile(
        "e", (Passage(PassageKind.GOAL, "a"), Passage(PassageKind.GOAL, "b")), unit(1, 0), unit(0, 1)
    )
    along = profile("m", (Passage(PassageKind.EXPERIENCE, "c"),), unit(1, 1))
    opposite = profile("n", (Passage(PassageKind.EXPERIENCE, "d"),), unit(-1, -1))
    assert goals_similarity(mentee, along) == pytest.approx(1.0)
    assert goals_similarity(mentee, opposite) == 0.0


def test_a_direction_is_computed_once_read_only_and_pickled_with_its_profile() -> None:
    """Every engine run reads every person's direction: it is the profile's, not recomputed."""
    import pickle

    person = profile(
        "e", (Passage(PassageKind.GOAL, "a"), Passage(PassageKind.GOAL, "b")), unit(1, 0), unit(0, 1)
    )
    assert person.direction() is person.direction()
    assert person.direction() == pytest.approx(unit(1, 1))
    with pytest.raises(ValueError, match="read-only"):
        person.direction()[0] = 0.0
    copy = pickle.loads(pickle.dumps(person))  # as the engine's process receives it
    assert copy.direction() == pytest.approx(unit(1, 1))
    nothing = SemanticProfile("x", (), np.zeros((0, 3), dtype=np.float32))
    assert nothing.direction().tolist() == [0.0, 0.0, 0.0]


def test_the_goals_a_run_is_sent_with_come_back_whole_from_their_packed_pickle() -> None:
    """The engine's process receives a run's goals pickled (packed: one array per side): every
    profile's key, person, passages, vectors and direction as they were, read-only, and the
    same scores from them."""
    import pickle

    _, mentee_profiles, mentor_profiles = semantic_cohort(5)
    mentor_profiles["m-quiet"] = SemanticProfile("m-quiet", (), np.zeros((0, 24), dtype=np.float32))
    goals = SemanticGoals(mentee_profiles, mentor_profiles, 24)
    copy = pickle.loads(pickle.dumps(goals))

    assert copy.dimensions == 24
    for sent, received in ((goals.mentees, copy.mentees), (goals.mentors, copy.mentors)):
        assert list(received) == list(sent)
        for key, profile in sent.items():
            assert received[key].person_id == profile.person_id
            assert received[key].passages == profile.passages
            assert received[key].vectors.tolist() == profile.vectors.tolist()
            assert received[key].direction().tolist() == profile.direction().tolist()
            with pytest.raises(ValueError, match="read-only"):
                received[key].direction()[0] = 1.0
    assert copy.mentors["m-quiet"].direction().tolist() == [0.0] * 24
    people = [MatchProfile(f"e{i}", ORG) for i in range(30)], [MatchProfile(f"m{j}", ORG) for j in range(12)]
    cohort = encode_cohort(MatchingPolicy(org_id=ORG), *people)
    for field in ("goal_vectors", "experience_vectors"):
        before, after = getattr(goals.applied_to(cohort), field), getattr(copy.applied_to(cohort), field)
        assert (abs(before - after)).sum() == 0


def semantic_cohort(
    seed: int, mentees: int = 30, mentors: int = 12, dims: int = 24
) -> tuple[Cohort, dict[str, SemanticProfile], dict[str, SemanticProfile]]:
    rng = np.random.default_rng(seed)
    mentee_people = [
        MatchProfile(
            f"e{i}", ORG, skills_wanted=("python",) if i % 2 else (), level="junior", manager_id=None
        )
        for i in range(mentees)
    ]
    mentor_people = [
        MatchProfile(
            f"m{j}", ORG, skills_offered=("python",), level="senior", free_capacity=int(rng.integers(1, 4))
        )
        for j in range(mentors)
    ]
    policy = MatchingPolicy(org_id=ORG, weights={"goals": 0.6, "skills": 0.3, "level_gap": 0.1})
    cohort = encode_cohort(policy, mentee_people, mentor_people, previous_pairs=[("e0", "m0"), ("e1", "m1")])

    def random_profile(person_id: str, count: int) -> SemanticProfile:
        vectors = rng.normal(size=(count, dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return SemanticProfile(
            person_id, tuple(Passage(PassageKind.GOAL, f"{person_id}-{k}") for k in range(count)), vectors
        )

    # Some people wrote nothing: they have no profile at all.
    mentee_profiles = {m.person_id: random_profile(m.person_id, 2) for m in mentee_people[:-3]}
    mentor_profiles = {m.person_id: random_profile(m.person_id, 3) for m in mentor_people[:-2]}
    return (
        with_semantic_goals(cohort, mentee_profiles, mentor_profiles, dims),
        mentee_profiles,
        mentor_profiles,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_semantic_goals_keep_bulk_and_single_pair_scores_identical(seed: int) -> None:
    cohort, mentee_profiles, mentor_profiles = semantic_cohort(seed)
    tables = contribution_tables(cohort)
    rows = np.arange(cohort.mentee_count)
    bulk = block_scores(cohort, tables, rows)
    i, j = np.meshgrid(rows, np.arange(cohort.mentor_count), indexing="ij")
    explained = explain_pairs(cohort, tables, i.ravel(), j.ravel())
    assert [round(e.score * MICRO) for e in explained] == bulk.ravel().tolist()
    goals = contributions(cohort, tables, rows)["goals"]
    assert goals.min() >= 0
    weight = MICRO * cohort.policy.normalised_weight("goals")
    for a, mentee in enumerate(cohort.mentees):
        for b, mentor in enumerate(cohort.mentors):
            left, right = mentee_profiles.get(mentee.person_id), mentor_profiles.get(mentor.person_id)
            value = 0.0 if left is None or right is None else goals_similarity(left, right)
            # Quantisation to TEXT_SCALE moves the value by well under one percent.
            assert goals[a, b] == pytest.approx(weight * value, abs=weight * 0.01 + 1)
    assert (goals[-3:] == 0).all()
    assert (goals[:, -2:] == 0).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_engine_on_semantic_goals_is_certified_optimal_and_keeps_hard_rules(seed: int) -> None:
    cohort, _, _ = semantic_cohort(seed, mentees=60, mentors=15)
    oracle = row_oracle(cohort)
    capacities = capacities_of(cohort)
    # A tiny shortlist forces the certificate to add pruned arcs back.
    candidates = shortlist(oracle, cohort.mentee_count, cohort.mentor_count, 2, per_mentor=1, block=16)
    solution = solve_certified(oracle, cohort.mentee_count, capacities, candidates, block=16)
    assert solution.certificate.proven
    scores, allowed = oracle(np.arange(cohort.mentee_count), None)
    mentee, mentor = np.nonzero(allowed)
    reference = solve_flow(
        cohort.mentee_count, capacities, mentee, mentor, scores[mentee, mentor].astype(np.int64)
    )
    assert (solution.matched, solution.objective) == (reference.matched, reference.objective)
    pairs = set(zip(solution.mentee.tolist(), solution.mentor.tolist(), strict=True))
    assert (0, 0) not in pairs
    assert (1, 1) not in pairs
    assert TEXT_SCALE * TEXT_SCALE < 2**24


def test_explanations_of_a_semantic_cohort_give_the_goals_reason_in_passages() -> None:
    mentee = MatchProfile("e", ORG, goals="lead a data team", level="junior")
    mentors = [
        MatchProfile("m", ORG, experience="managed analytics teams", level="junior", free_capacity=1),
        MatchProfile("n", ORG, experience="baked bread", level="junior", free_capacity=1),
    ]
    policy = MatchingPolicy(org_id=ORG, weights={"goals": 0.9, "level_gap": 0.1})
    mentee_profiles = {"e": profile("e", mentee_passages("lead a data team"), unit(1, 0, 0))}
    mentor_profiles = {
        "m": profile("m", mentor_passages("managed analytics teams"), unit(0.8, 0.2, 0)),
        "n": profile("n", mentor_passages("baked bread"), unit(0, 0.3, 1)),
    }
    cohort = with_semantic_goals(
        encode_cohort(policy, [mentee], mentors), mentee_profiles, mentor_profiles, 3
    )
    tables = contribution_tables(cohort)
    reason = semantic_goals_reason(mentee_profiles, mentor_profiles)
    close, far = explain_pairs(cohort, tables, np.asarray([0, 0]), np.asarray([0, 1]), reason)
    assert (
        close.reasons[0] == "your goal 'lead a data team' matches their experience 'managed analytics teams'"
    )
    assert close.breakdown["goals"] > 0.8
    assert not any("goal" in r for r in far.reasons)
    # Without a goals reason the word-overlap phrase stays (no shared words here: none).
    (plain,) = explain_pairs(cohort, tables, np.asarray([0]), np.asarray([0]))
    assert not any("goal" in r for r in plain.reasons)


def test_a_continuous_run_whose_mentees_have_no_vectors_goes_without_them_and_pairs_the_same() -> None:
    """Only a pair whose two people have vectors scores goals semantically: with no mentee's, the
    mentors' vectors would change nothing, and are not sent to the engine (the benchmark's
    mentees write no goals; its mentors' skills are embedded)."""
    mentees = [
        MatchProfile(f"e{n}", ORG, goals=goal, skills_wanted=("sql",), level="junior")
        for n, goal in enumerate(["lead a data team", "write better sql", "bake bread"])
    ]
    mentors = [
        MatchProfile(f"m{n}", ORG, experience=text, skills_offered=("sql",), level="senior", free_capacity=1)
        for n, text in enumerate(["managed data teams", "sql tuning", "bread and pastry"])
    ]
    mentor_profiles = {
        m.person_id: profile(m.person_id, mentor_passages(m.experience), unit(n + 1.0, 1, 0))
        for n, m in enumerate(mentors)
    }
    view = OrgView("acme", {}, {}, {}, semantic=SemanticGoals({}, mentor_profiles, 3))
    assert view.continuous_goals(mentees, mentors) is None
    goals = view.goals_of(mentees, mentors)  # what a stored run keeps a digest of: every vector
    assert goals is not None
    assert set(goals.mentors) == set(mentor_profiles)
    policy = MatchingPolicy(org_id=ORG)
    assert continuous_pairs(policy, mentees, mentors, {}, [], goals) == continuous_pairs(
        policy, mentees, mentors, {}, [], None
    )

    embedded = {"e0": profile("e0", mentee_passages("lead a data team"), unit(1, 0, 0))}
    view = OrgView("acme", {}, {}, {}, semantic=SemanticGoals(embedded, mentor_profiles, 3))
    sent = view.continuous_goals(mentees, mentors)
    assert sent is not None
    assert (set(sent.mentees), set(sent.mentors)) == ({"e0"}, set(mentor_profiles))
