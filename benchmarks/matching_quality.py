"""The quality section of `make bench-matching`: does learning weights from outcomes, and the semantic
goals component, rank pairs that went well above pairs that did not, on pairs held out by time?

A synthetic org: mentees and mentors with levels, timezones, languages, skills and so on, and goal
and experience texts written about ten career topics with different words on each side (a mentee
wants to "lead a data team", a mentor "headed a group of statisticians"): the topic match is latent,
word overlap sees little of it, a sentence model should see it. Past pairs (a third chosen within
a topic, the rest at random) succeed by a hidden rule: topic match, level fit and timezone overlap
matter; skills, style, personality, language, modality and department do not. Outcomes (endings,
sessions against cadence, answers, goals) are drawn from that success and labelled by the real rule;
every component value comes from the real engine (TF-IDF and semantic goals alike).

Figures (AUC on the latest 30% of pairs): default weights with today's TF-IDF goals; weights learned
on the earlier pairs with semantic goals; the hidden rule itself (the ceiling the noise allows); the
goals component alone, semantic vs TF-IDF. Then the embedding time per 1,000 profiles (cold, every
passage encoded) and the model's resident memory (measured in a fresh process).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from matching.domain.assignment import shortlist, solve_certified
from matching.domain.cohort import MatchProfile, encode_cohort
from matching.domain.cohort_run import capacities_of, row_oracle
from matching.domain.compatibility import MICRO, contribution_tables, contributions
from matching.domain.outcomes import PairEnding, PairOutcome
from matching.domain.programs import COMPONENTS, DEFAULT_WEIGHTS, MatchingPolicy
from matching.domain.semantic import (
    Passage,
    PassageKind,
    SemanticProfile,
    mentee_passages,
    mentor_passages,
    with_semantic_goals,
)
from matching.domain.semantic_goals import SemanticGoals
from matching.domain.weight_learning import auc, labelled_pairs, propose_weights, time_split, weight_vector
from matching.embeddings import (
    DIMENSIONS,
    InMemoryEmbeddingCache,
    MiniLmEncoder,
    ProfileEmbedder,
    ProfileText,
)

ORG = "org-quality"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
# (what mentees write, what mentors write) per topic: paraphrases with different words.
TOPICS: list[tuple[list[str], list[str]]] = [
    (
        ["lead a data team", "become the manager of our analysts", "run an analytics group one day"],
        [
            "headed a group of statisticians",
            "supervised reporting analysts for six years",
            "ran a BI department",
        ],
    ),
    (
        [
            "get better at public speaking",
            "present confidently to executives",
            "stop freezing when I give talks",
        ],
        [
            "coached colleagues on presentation skills",
            "keynote speaker at industry events",
            "taught storytelling",
        ],
    ),
    (
        ["move into product management", "switch from engineering to a PM role", "own a product roadmap"],
        [
            "ran product discovery as a product owner",
            "prioritised backlogs for consumer apps",
            "PM for payments",
        ],
    ),
    (
        [
            "keep our services up at night",
            "learn incident response and on-call",
            "reduce outages in production",
        ],
        [
            "site reliability engineer on Kubernetes",
            "wrote runbooks and led postmortems",
            "designed failover",
        ],
    ),
    (
        ["negotiate a raise", "ask for a promotion with confidence", "argue for better pay"],
        [
            "sat on compensation committees",
            "advised employees on salary discussions",
            "set offers and levels",
        ],
    ),
    (
        ["avoid burning out", "handle stress and long hours", "set boundaries with my boss"],
        [
            "recovered from exhaustion and rebuilt healthy routines",
            "wellbeing champion",
            "coach on saying no",
        ],
    ),
    (
        ["learn machine learning", "build predictive models", "understand neural networks"],
        [
            "trained deep learning models for fraud detection",
            "deployed classifiers",
            "taught regression courses",
        ],
    ),
    (
        ["become a user experience designer", "design interfaces people enjoy", "run usability tests"],
        ["interaction designer for mobile apps", "ran user research and prototyping", "led design systems"],
    ),
    (
        ["start my own company", "turn a side project into a business", "raise money for a startup"],
        [
            "founded two startups and sold one",
            "angel investor and accelerator advisor",
            "closed a seed round",
        ],
    ),
    (
        ["work well with colleagues abroad", "collaborate across cultures", "relocate to another country"],
        [
            "led offices in Singapore and Berlin",
            "expatriate assignments on three continents",
            "global programs",
        ],
    ),
]
CHALLENGES = ["too many meetings", "unclear priorities", "a new manager", "imposter syndrome", "a reorg"]
SKILLS = ["python", "excel", "sql", "communication", "java", "finance", "marketing", "writing", "go", "sales"]
LEVELS = ["junior", "mid", "senior", "lead", "principal"]
OFFSETS = [-300, 0, 60, 120, 330, 540]
HIDDEN_RULE = {"topic": 3.0, "level_gap": 2.5, "timezone": 2.0}
HIDDEN_BIAS = -4.2


@dataclass
class SyntheticOrg:
    mentees: list[MatchProfile]
    mentors: list[MatchProfile]
    mentee_texts: list[ProfileText]
    mentor_texts: list[ProfileText]
    mentee_topic: list[int]
    mentor_topics: list[set[int]]


def synthetic_org(mentee_count: int, mentor_count: int, seed: int) -> SyntheticOrg:
    rng = random.Random(seed)

    def common(person_id: str, levels: list[int]) -> dict[str, Any]:
        return {
            "person_id": person_id,
            "org_id": ORG,
            "department": f"dept-{rng.randrange(8)}",
            "level": rng.choices(LEVELS, levels)[0],
            "languages": ("en",) if rng.random() < 0.9 else ("en", "de"),
            "utc_offset_minutes": rng.choice(OFFSETS),
            "communication_style": rng.choice(["direct", "reflective", None]),
            "modalities": tuple(m for m in ("remote", "in_person") if rng.random() < 0.6),
            "personality": tuple(rng.randint(1, 5) for _ in range(4)),
        }

    org = SyntheticOrg([], [], [], [], [], [])
    for j in range(mentor_count):
        topics = {rng.randrange(len(TOPICS))} | (
            {rng.randrange(len(TOPICS))} if rng.random() < 0.3 else set()
        )
        experience = [rng.choice(TOPICS[t][1]) for t in sorted(topics)] + [rng.choice(TOPICS[min(topics)][1])]
        skills = tuple(sorted(set(rng.sample(SKILLS, 3))))
        passages = mentor_passages(list(dict.fromkeys(experience)), skills)
        org.mentors.append(
            MatchProfile(
                **common(f"mentor-{j}", [0, 2, 5, 4, 2]),
                skills_offered=skills,
                experience=". ".join(p.text for p in passages),
                free_capacity=5,
            )
        )
        org.mentor_texts.append(ProfileText(f"mentor-{j}", passages))
        org.mentor_topics.append(topics)
    for i in range(mentee_count):
        topic = rng.randrange(len(TOPICS))
        passages = mentee_passages(rng.choice(TOPICS[topic][0]), rng.choice(CHALLENGES))
        org.mentees.append(
            MatchProfile(
                **common(f"mentee-{i}", [5, 4, 2, 1, 0]),
                skills_wanted=tuple(rng.sample(SKILLS, 2)),
                goals=". ".join(p.text for p in passages),
            )
        )
        org.mentee_texts.append(ProfileText(f"mentee-{i}", passages))
        org.mentee_topic.append(topic)
    return org


def component_values(policy: MatchingPolicy, cohort: Any, mentees: Any, mentors: Any) -> dict[str, Any]:
    """Each component's value in [0, 1] for the given pairs, from the engine's own contributions."""
    parts = contributions(cohort, contribution_tables(cohort), mentees, mentors, pairwise=True)
    return {name: parts[name] / (MICRO * policy.normalised_weight(name)) for name in COMPONENTS}


def past_outcomes(
    org: SyntheticOrg, values: dict[str, Any], mentor_of: list[int], seed: int
) -> tuple[list[PairOutcome], Any]:
    """One pair per mentee, started over two years; success by the hidden rule, outcomes drawn from it."""
    rng = np.random.default_rng(seed)
    topic = np.asarray(
        [org.mentee_topic[i] in org.mentor_topics[j] for i, j in enumerate(mentor_of)], dtype=float
    )
    logit = HIDDEN_BIAS + HIDDEN_RULE["topic"] * topic
    logit = (
        logit + HIDDEN_RULE["level_gap"] * values["level_gap"] + HIDDEN_RULE["timezone"] * values["timezone"]
    )
    success = rng.random(len(logit)) < 1 / (1 + np.exp(-logit))
    outcomes = []
    for i, (ok, _j) in enumerate(zip(success.tolist(), mentor_of, strict=True)):
        started = NOW - timedelta(days=760) + timedelta(days=int(i * 700 / len(mentor_of)))
        ending: PairEnding | None = PairEnding.COMPLETED
        if rng.random() < 0.05:
            ending = PairEnding.MENTOR_LEFT
        elif not ok and rng.random() < 0.7:
            ending = (PairEnding.NOT_A_FIT, PairEnding.STAGNANT)[int(rng.integers(2))]
        ended = started + timedelta(days=int(rng.integers(56, 180)))
        expected = (ended - started).days // 14
        share = rng.uniform(0.7, 1.0) if ok else rng.uniform(0.0, 0.4)
        answers = int(rng.integers(1, max(2, expected)))
        outcomes.append(
            PairOutcome(
                pair_id=f"pair-{i}",
                org_id=ORG,
                program_id="open",
                started_at=started,
                components={name: float(min(1.0, max(0.0, values[name][i]))) for name in COMPONENTS},
                ended_at=ended,
                ending=ending,
                sessions_held=round(share * expected),
                learned_yes=round(share * answers),
                learned_answers=answers,
                goals_set=2,
                goals_achieved=2 if ok and rng.random() < 0.6 else 0,
            )
        )
    return outcomes, logit


def model_rss_mb() -> float:
    """Resident memory the model adds to a fresh Python process that already has numpy loaded."""
    script = (
        "import numpy\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
        "before = rss()\n"
        "from matching.embeddings import MiniLmEncoder\n"
        "MiniLmEncoder().encode(['warm up the model with a sentence'] * 32)\n"
        "print(rss() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def embed_seconds_per_1000(org: SyntheticOrg, profiles: int) -> tuple[float, int]:
    """Cold embedding of `profiles` profiles, mentors up to half of them (every passage encoded, no
    cache), scaled to 1,000."""
    mentors = min(profiles // 2, len(org.mentor_texts))
    chosen = org.mentee_texts[: profiles - mentors] + org.mentor_texts[:mentors]
    texts = [p.text for profile in chosen for p in profile.passages]
    encoder = MiniLmEncoder()
    encoder.encode(texts[:8])  # load the model outside the timing
    started = time.perf_counter()
    encoder.encode(texts)
    return round((time.perf_counter() - started) * 1000 / profiles, 2), len(texts)


def historical_mentors(org: SyntheticOrg, seed: int) -> list[int]:
    """Who each mentee was paired with: within their topic a third of the time, else anyone."""
    rng = random.Random(seed)
    by_topic = {
        t: [j for j, topics in enumerate(org.mentor_topics) if t in topics] for t in range(len(TOPICS))
    }
    return [
        rng.choice(by_topic[t]) if by_topic[t] and rng.random() < 1 / 3 else rng.randrange(len(org.mentors))
        for t in org.mentee_topic
    ]


def quality(mentee_count: int = 2000, mentor_count: int = 400, seed: int = 7) -> dict[str, Any]:
    org = synthetic_org(mentee_count, mentor_count, seed)
    mentor_of = historical_mentors(org, seed + 1)
    # Equal weights: each component's contribution divided by its weight gives back its value.
    policy = MatchingPolicy(org_id=ORG, weights=dict.fromkeys(COMPONENTS, 1.0))
    cohort = encode_cohort(policy, org.mentees, org.mentors)
    assert (cohort.mentee_count, cohort.mentor_count) == (mentee_count, mentor_count)
    encoder = MiniLmEncoder()
    embedded = asyncio.run(
        ProfileEmbedder(encoder, InMemoryEmbeddingCache()).embed(org.mentee_texts + org.mentor_texts)
    )
    mentees = {p.person_id: embedded[p.person_id] for p in org.mentee_texts}
    mentors = {p.person_id: embedded[p.person_id] for p in org.mentor_texts}
    semantic = with_semantic_goals(cohort, mentees, mentors, encoder.dimensions)
    rows, cols = np.arange(mentee_count), np.asarray(mentor_of, dtype=np.int64)
    tfidf_values = component_values(policy, cohort, rows, cols)
    semantic_values = component_values(policy, semantic, rows, cols)
    outcomes, logit = past_outcomes(org, semantic_values, mentor_of, seed + 2)
    proposal = propose_weights(outcomes, DEFAULT_WEIGHTS, NOW)
    # The same held-out pairs as the proposal's.
    _, test = time_split(labelled_pairs(outcomes, NOW)[0])
    held = np.asarray([int(p.pair_id.removeprefix("pair-")) for p in test])
    success = np.asarray([p.success for p in test])
    tfidf_features = np.column_stack([tfidf_values[name][held] for name in COMPONENTS])
    profiles = int(os.environ.get("BENCH_EMBED_PROFILES", "1000"))
    seconds, passages = embed_seconds_per_1000(org, profiles)
    figures = {
        "default_auc": round(auc(tfidf_features @ weight_vector(DEFAULT_WEIGHTS), success), 4),
        "learned_auc": proposal.learned_auc.value,
        "hidden_rule_auc": round(auc(logit[held], success), 4),
        "semantic_auc": round(auc(semantic_values["goals"][held], success), 4),
        "tfidf_auc": round(auc(tfidf_values["goals"][held], success), 4),
        "embed_seconds_per_1000": seconds,
        "model_rss_mb": model_rss_mb(),
        "learned_auc_interval": [proposal.learned_auc.low, proposal.learned_auc.high],
        "default_weights_semantic_goals_auc": proposal.current_auc.value,
        "lift_over_default_weights_semantic_goals": [
            proposal.lift.value,
            proposal.lift.low,
            proposal.lift.high,
        ],
        "learned_weights": proposal.weights,
        "pairs": {"train": proposal.train_pairs, "held_out": proposal.test_pairs},
        "embedded_passages_timed": passages,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    print(
        f"quality: held-out AUC default weights (TF-IDF goals) {figures['default_auc']:.3f}, learned "
        f"{figures['learned_auc']:.3f} [{proposal.learned_auc.low:.3f}, {proposal.learned_auc.high:.3f}], "
        f"hidden rule {figures['hidden_rule_auc']:.3f}; goals alone: semantic {figures['semantic_auc']:.3f} "
        f"vs TF-IDF {figures['tfidf_auc']:.3f}; embedding {seconds:.2f}s per 1,000 profiles ({passages} "
        f"passages from {profiles} profiles), model {figures['model_rss_mb']} MB resident",
        flush=True,
    )
    print(f"{'':9}learned weights {proposal.weights}", flush=True)
    return figures


def stand_in_profiles(
    people: list[MatchProfile], seed: int = 0, embedded_share: float = 1.0
) -> dict[str, SemanticProfile]:
    """Embedded profiles for a bench cohort: clustered unit directions stand in for embeddings (the
    engine's cost does not depend on what they say; clusters give cosines like real profiles, mostly
    0.1-0.6), for `embedded_share` of the people (the others have none, as before their first
    embedding)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, DIMENSIONS))
    vectors = centres[rng.integers(0, 20, len(people))] + 1.2 * rng.normal(size=(len(people), DIMENSIONS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    embedded = rng.random(len(people)) < embedded_share
    return {
        p.person_id: SemanticProfile(
            p.person_id, (Passage(PassageKind.GOAL, "-"),), vectors[k : k + 1].astype(np.float32)
        )
        for k, p in enumerate(people)
        if embedded[k]
    }


def semantic_engine_case(
    mentees: list[MatchProfile], mentors: list[MatchProfile], seed: int = 0, embedded_share: float = 1.0
) -> dict[str, Any]:
    """The engine with the semantic goals component (384 dense dimensions instead of sparse TF-IDF) on a
    bench cohort (`stand_in_profiles`): scoring, solve and proof times, and the certificate. With
    `embedded_share` < 1 only that share of people has vectors: the others' pairs keep TF-IDF
    (domain/semantic_goals.py), as in an org whose profiles are not all embedded yet."""
    policy = MatchingPolicy(org_id=mentees[0].org_id)
    started = time.perf_counter()
    cohort = encode_cohort(policy, mentees, mentors)
    profiles = stand_in_profiles(mentees + mentors, seed, embedded_share)
    cohort = SemanticGoals(profiles, profiles, DIMENSIONS).applied_to(cohort)
    oracle = row_oracle(cohort)
    capacities = capacities_of(cohort)
    candidates = shortlist(oracle, cohort.mentee_count, cohort.mentor_count, 12, reserve=36)
    scored = time.perf_counter()
    solution = solve_certified(oracle, cohort.mentee_count, capacities, candidates)
    solved = time.perf_counter()
    certificate = solution.certificate
    print(
        f"{len(mentees):>6} x {len(mentors):<6} semantic goals ({embedded_share:.0%} embedded): "
        f"scoring {scored - started:6.2f}s  "
        f"solve+proof {solved - scored:6.2f}s  total {solved - started:6.2f}s  "
        f"matched {solution.matched:>6}  proven {certificate.proven} "
        f"(rounds {certificate.rounds}, added {certificate.arcs_added})",
        flush=True,
    )
    return {
        "mentees": len(mentees),
        "mentors": len(mentors),
        "embedded_share": embedded_share,
        "seconds": round(solved - started, 3),
        "scoring_seconds": round(scored - started, 3),
        "solve_seconds": round(solved - scored, 3),
        "matched": solution.matched,
        "optimal": certificate.proven,
    }
