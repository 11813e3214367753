"""Semantic fit between what a mentee wants and what a mentor has done, from sentence embeddings.

Pure: the embeddings come in as vectors (matching/embeddings.py computes them when a profile changes
and keeps them in matching's read model, never in an event). A profile is a few passages (each goal,
challenge, experience sentence, offered skill and "can help with" line) with one unit vector each.

- The goals component is the cosine of the two profiles' mean directions, clipped to [0, 1]
  (unrelated work texts land near 0 with the model we ship, paraphrases around 0.4-0.6).
- The engine gets it in the shape it already multiplies: integer-valued float32 factors whose dot
  product is TEXT_SCALE**2 x cosine, so scores stay exact integers, the bulk and the one-pair paths
  agree to the micro-point, and the min-cost flow and its certificate are unchanged
  (`with_semantic_goals` swaps the TF-IDF factors of an encoded cohort for these).
- The explanation names the best-matching pair of passages ("your goal 'lead a data team' matches
  their experience 'managed analytics teams'").
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from matching.domain.cohort import TEXT_SCALE, Cohort, MatchProfile

Vectors = npt.NDArray[np.float32]
# Below this cosine a passage pair is not offered as a reason: it would not convince anyone.
MIN_EXPLAINED_SIMILARITY = 0.3
# A passage longer than this is cut (at a word boundary): the model reads ~128 tokens well.
MAX_PASSAGE_CHARS = 300
MAX_PASSAGES_PER_FIELD = 12


class PassageKind(StrEnum):
    GOAL = "goal"
    CHALLENGE = "challenge"
    EXPERIENCE = "experience"
    SKILL = "skill"
    CAN_HELP_WITH = "can_help_with"


# How each kind of passage is named in an explanation addressed to the mentee.
_NAMED = {
    PassageKind.GOAL: "your goal",
    PassageKind.CHALLENGE: "your challenge",
    PassageKind.EXPERIENCE: "their experience",
    PassageKind.SKILL: "the skill they offer",
    PassageKind.CAN_HELP_WITH: "what they can help with",
}


@dataclass(frozen=True)
class Passage:
    kind: PassageKind
    text: str


_PASSAGE_BREAK = re.compile(r"(?<=[.!?])\s+|[\n;•]+|\s+-\s+")


def split_passages(kind: PassageKind, text: str | Iterable[str]) -> list[Passage]:
    """Sentences, lines and bullet items of a free text (or of each text of a list), trimmed."""
    texts = [text] if isinstance(text, str) else list(text)
    passages: list[Passage] = []
    for chunk in texts:
        if not chunk:
            continue  # nothing written (most mentees' challenges; all of the benchmark's goals)
        for piece in _PASSAGE_BREAK.split(chunk):
            cleaned = " ".join(piece.strip(" \t-*.").split())
            if len(cleaned) < 3:
                continue
            if len(cleaned) > MAX_PASSAGE_CHARS:
                cleaned = cleaned[:MAX_PASSAGE_CHARS].rsplit(" ", 1)[0]
            passages.append(Passage(kind, cleaned))
    unique = list(dict.fromkeys(passages))
    return unique[:MAX_PASSAGES_PER_FIELD]


def mentee_passages(goals: str | Iterable[str], challenges: str | Iterable[str] = ()) -> tuple[Passage, ...]:
    return (*split_passages(PassageKind.GOAL, goals), *split_passages(PassageKind.CHALLENGE, challenges))


def mentor_passages(
    experience: str | Iterable[str],
    skills_offered: Iterable[str] = (),
    can_help_with: str | Iterable[str] = (),
) -> tuple[Passage, ...]:
    # Taxonomy names such as "data-analysis" read better to the model as words.
    skills = [re.sub(r"[-_]+", " ", skill) for skill in skills_offered]
    return (
        *split_passages(PassageKind.EXPERIENCE, experience),
        *split_passages(PassageKind.SKILL, skills),
        *split_passages(PassageKind.CAN_HELP_WITH, can_help_with),
    )


@dataclass(frozen=True, eq=False)
class SemanticProfile:
    """One person's passages and their unit embeddings (row k embeds passages[k])."""

    person_id: str
    passages: tuple[Passage, ...]
    vectors: Vectors
    # Every engine run builds its goal matrices from every person's direction: computed once here
    # (a mean and a norm per person in every run were a quarter to two fifths of a small
    # continuous run's time, profiled in the journey and alone).
    _direction: Vectors = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.passages):
            raise ValueError("one embedding row per passage is required")
        object.__setattr__(self, "_direction", _unit_mean(self.vectors))

    @classmethod
    def restored(
        cls, person_id: str, passages: tuple[Passage, ...], vectors: Vectors, direction: Vectors
    ) -> SemanticProfile:
        """A profile as packed by an earlier one (its direction already worked out)."""
        profile = cls.__new__(cls)
        vectors.setflags(write=False)
        direction.setflags(write=False)
        for name, value in (("person_id", person_id), ("passages", passages), ("vectors", vectors)):
            object.__setattr__(profile, name, value)
        object.__setattr__(profile, "_direction", direction)
        return profile

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])

    def direction(self) -> Vectors:
        """Unit mean of the passage vectors; the zero vector for someone who wrote nothing (read-only)."""
        return self._direction


def _unit_mean(vectors: Vectors) -> Vectors:
    if not len(vectors):
        unit: Vectors = np.zeros(vectors.shape[1], dtype=np.float32)
    else:
        # One passage (a mentor offering one skill, most often) is its own mean: 3 us, not 6.5.
        mean: Vectors = (
            np.array(vectors[0], dtype=np.float32)
            if len(vectors) == 1
            else np.asarray(vectors.mean(axis=0), dtype=np.float32)
        )
        norm = float(np.sqrt(mean @ mean))
        unit = mean / np.float32(norm) if norm > 0 else mean
    unit.setflags(write=False)
    return unit


def goals_similarity(mentee: SemanticProfile, mentor: SemanticProfile) -> float:
    """The goals component's value in [0, 1] (the engine computes the same, quantised)."""
    return float(np.clip(mentee.direction() @ mentor.direction(), 0.0, 1.0))


@dataclass(frozen=True)
class PassageMatch:
    mentee_passage: Passage
    mentor_passage: Passage
    similarity: float

    def phrase(self) -> str:
        return (
            f"{_NAMED[self.mentee_passage.kind]} '{self.mentee_passage.text}' matches "
            f"{_NAMED[self.mentor_passage.kind]} '{self.mentor_passage.text}'"
        )


def best_passage_match(
    mentee: SemanticProfile, mentor: SemanticProfile, minimum: float = MIN_EXPLAINED_SIMILARITY
) -> PassageMatch | None:
    """The mentee passage and mentor passage that agree most, or None when no pair reaches `minimum`.
    Ties go to the earlier passages (goals before challenges, experience before skills)."""
    if not mentee.passages or not mentor.passages:
        return None
    similarities = mentee.vectors @ mentor.vectors.T
    row, col = np.unravel_index(int(np.argmax(similarities)), similarities.shape)
    best = float(similarities[row, col])
    if best < minimum:
        return None
    return PassageMatch(mentee.passages[int(row)], mentor.passages[int(col)], best)


def semantic_reason(mentee: SemanticProfile | None, mentor: SemanticProfile | None) -> str | None:
    """The goals reason of an explanation, in words; None when there is nothing convincing to say."""
    if mentee is None or mentor is None:
        return None
    match = best_passage_match(mentee, mentor)
    return None if match is None else match.phrase()


def semantic_goals_reason(
    mentee_profiles: Mapping[str, SemanticProfile], mentor_profiles: Mapping[str, SemanticProfile]
) -> Callable[[MatchProfile, MatchProfile], str | None]:
    """The goals reason for `explain_pairs` (domain/compatibility.py) from these profiles."""

    def reason(mentee: MatchProfile, mentor: MatchProfile) -> str | None:
        return semantic_reason(mentee_profiles.get(mentee.person_id), mentor_profiles.get(mentor.person_id))

    return reason


def quantised_directions(directions: Vectors) -> Vectors:
    """Rows scaled to TEXT_SCALE and rounded: integer-valued float32. The dot product of two rows is
    within ~0.2% of TEXT_SCALE**2 x cosine; every partial sum of it is bounded by the product of the
    norms (about 1.02e6, far below 2**24), so float32 sums are exact in any order (BLAS or not)."""
    scaled: Vectors = np.float32(TEXT_SCALE) * directions.astype(np.float32)
    return np.rint(scaled)


def direction_matrix(
    person_ids: Iterable[str], profiles: Mapping[str, SemanticProfile], dimensions: int
) -> Vectors:
    """Rows of unit directions in the given order; zeros for someone without a profile."""
    ids = list(person_ids)
    matrix = np.zeros((len(ids), dimensions), dtype=np.float32)
    for row, person_id in enumerate(ids):
        profile = profiles.get(person_id)
        if profile is not None:
            if profile.dimensions != dimensions:
                raise ValueError(f"{person_id}: {profile.dimensions} dimensions, not {dimensions}")
            matrix[row] = profile.direction()
    return matrix


def with_semantic_goals(
    cohort: Cohort,
    mentee_profiles: Mapping[str, SemanticProfile],
    mentor_profiles: Mapping[str, SemanticProfile],
    dimensions: int,
) -> Cohort:
    """The cohort with its goals component computed from embeddings instead of TF-IDF.

    Everything else (hard rules, other components, capacities) is untouched; a person without a
    profile contributes 0 to the goals component, as an empty text does with TF-IDF."""
    mentees = direction_matrix((m.person_id for m in cohort.mentees), mentee_profiles, dimensions)
    mentors = direction_matrix((m.person_id for m in cohort.mentors), mentor_profiles, dimensions)
    return dataclasses.replace(
        cohort,
        goal_vectors=quantised_directions(mentees),
        experience_vectors=np.ascontiguousarray(quantised_directions(mentors).T),
    )
