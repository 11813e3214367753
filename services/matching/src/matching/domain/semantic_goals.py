"""The goals component a run uses: the embeddings' cosine (domain/semantic.py) for a pair whose two people
have vectors, TF-IDF for a pair where one of them has none yet (a profile whose embedding is still being
computed, or was made by another model), in one cohort and exactly.

For people with and without vectors in one cohort, the goals value of a pair is a sum of two products
(`FactorSum`): `h_i s_i . h_j s_j` (dense, through BLAS) plus `[(1 - h_i) t_i, h_i t_i] . [t_j, (1 - h_j)
t_j]` (sparse, as TF-IDF alone), where `s` is the quantised semantic direction, `t` the quantised TF-IDF
vector and `h` 1 for someone with vectors: the semantic value when both have vectors, TF-IDF otherwise.
Every term is an integer and every partial sum stays below 2**24 (about 2e6 at most), so float32 sums
remain exact in any order and the bulk path, the one-pair path and the certificate keep agreeing.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from mentorship_schemas.events import PersonRole
from scipy import sparse  # type: ignore[import-untyped]

from matching.domain.cohort import Cohort, MatchProfile, mentor_side, tokens
from matching.domain.compatibility import FactorSum, GoalsReason
from matching.domain.semantic import (
    Passage,
    PassageKind,
    SemanticProfile,
    Vectors,
    direction_matrix,
    mentee_passages,
    mentor_passages,
    quantised_directions,
    semantic_reason,
    with_semantic_goals,
)


class Side(StrEnum):
    """A person's texts are embedded once per role they have: what a mentee wants, what a mentor has."""

    MENTEE = "mentee"
    MENTOR = "mentor"


@dataclass(frozen=True)
class ProfileTexts:
    """The free texts of a profile that the goals component reads (as profile events carry them)."""

    goals: str | None = None
    challenges: str | None = None
    title: str | None = None
    skills_offered: tuple[str, ...] = ()
    can_help_with: tuple[str, ...] = ()

    def passages(self, roles: Iterable[PersonRole]) -> dict[Side, tuple[Passage, ...]]:
        """Each role's passages: a mentee's goals and challenges; a mentor's experience (their title),
        offered skills and what they can help with. A role they wrote nothing for has none: nothing
        to embed, so that side scores goals on TF-IDF, which values an empty text 0 as the zero
        direction of no passages did (`goals_similarity`). Nothing is stored for them. In matching's
        benchmark the mentees write no goals: two thirds of the profiles stored had nothing
        embedded, and every run took the embedded path for all of them; with no mentee's vectors,
        its runs now score goals on TF-IDF (`SemanticGoals.applied_to`)."""
        sides: dict[Side, tuple[Passage, ...]] = {}
        roles = set(roles)
        if PersonRole.MENTEE in roles:
            sides[Side.MENTEE] = mentee_passages(self.goals or "", self.challenges or "")
        if PersonRole.MENTOR in roles:
            sides[Side.MENTOR] = mentor_passages(self.title or "", self.skills_offered, self.can_help_with)
        return {side: passages for side, passages in sides.items() if passages}

    @staticmethod
    def digest(sides: Mapping[Side, tuple[Passage, ...]], model_id: str) -> str:
        """Of the passages `passages` gave: changes exactly when what would be embedded (or the
        model) changes."""
        canonical = [model_id] + [
            f"{side.value}|{p.kind.value}|{p.text}" for side, passages in sides.items() for p in passages
        ]
        return hashlib.sha256("\n".join(canonical).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SemanticGoals:
    """The embedded profiles a run may use, by person, for each side; anyone absent falls back to TF-IDF."""

    mentees: Mapping[str, SemanticProfile]
    mentors: Mapping[str, SemanticProfile]
    dimensions: int

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickled packed (a run sent to the engine's process carries its people's profiles): each
        side's vectors and directions as one array each, not two small arrays and a few objects per
        person. A flood's run of 4,646 mentees x 5,000 mentors pickled its goals in 266 ms and
        unpickled them in 195 ms, object by object."""
        return _unpacked, (_packed(self.mentees), _packed(self.mentors), self.dimensions)

    def applied_to(self, cohort: Cohort) -> Cohort:
        """The cohort with the goals component semantic wherever both people of a pair have vectors."""
        has_mentee = np.asarray([m.person_id in self.mentees for m in cohort.mentees], dtype=bool)
        has_mentor = np.asarray([m.person_id in self.mentors for m in cohort.mentors], dtype=bool)
        if not has_mentee.any() or not has_mentor.any():
            return cohort  # no pair has vectors on both sides: TF-IDF everywhere
        # Someone without vectors whose text TF-IDF reads no word from (they wrote nothing) is
        # valued 0 by either: as the zero direction on the embedded path, or by TF-IDF on the mixed
        # one. A run where only such people lack vectors takes the embedded path, which is cheaper
        # (a run of 600 mentees, half of them wordless, x 2,400 mentors, alternated 8 times: a
        # median of 163 ms of CPU against 174 on the mixed path, with the same pairs and scores).
        wordless_mentees = np.diff(cohort.goal_vectors.indptr) == 0
        if (has_mentee | wordless_mentees).all() and (has_mentor | _wordless_mentors(cohort)).all():
            return with_semantic_goals(cohort, self.mentees, self.mentors, self.dimensions)
        return _mixed(cohort, self, has_mentee, has_mentor)

    def of(self, mentee_ids: Iterable[str], mentor_ids: Iterable[str]) -> SemanticGoals:
        """These people's profiles alone: everything a run over them reads, so all it is sent (the
        engine's process was sent the whole org's: up to 32 MB a run in matching's benchmark)."""
        return SemanticGoals(
            _having(self.mentees, mentee_ids), _having(self.mentors, mentor_ids), self.dimensions
        )

    def reason(self) -> GoalsReason:
        """The goals reason in words: matching passages for a semantic pair, shared words otherwise."""

        def reason(mentee: MatchProfile, mentor: MatchProfile) -> str | None:
            mentee_profile = self.mentees.get(mentee.person_id)
            mentor_profile = self.mentors.get(mentor.person_id)
            if mentee_profile is not None and mentor_profile is not None:
                return semantic_reason(mentee_profile, mentor_profile)
            common = sorted(set(tokens(mentee.goals)) & set(tokens(mentor.experience)))
            return "experience matches your goals: " + ", ".join(common[:4]) if common else None

        return reason

    def fingerprint(self, mentee_ids: Iterable[str], mentor_ids: Iterable[str]) -> str:
        """What the run's inputs digest records of the goals component: who had which vectors."""
        digest = hashlib.sha256()
        for label, ids, profiles in (("e", mentee_ids, self.mentees), ("r", mentor_ids, self.mentors)):
            for person_id in sorted(set(ids)):
                profile = profiles.get(person_id)
                if profile is not None:
                    digest.update(f"{label}:{person_id}:".encode())
                    digest.update(profile.direction().tobytes())
        return digest.hexdigest()


# One side's profiles packed: the keys, each profile's person and passages (as kinds and texts), its
# count of passages, and every passage vector and every direction stacked.
_Packed = tuple[list[str], list[str], list[str], list[str], list[int], Vectors, Vectors]


def _packed(profiles: Mapping[str, SemanticProfile]) -> _Packed:
    people = list(profiles.values())
    kept = [passage for profile in people for passage in profile.passages]
    vectors = [profile.vectors for profile in people]
    return (
        list(profiles),
        [profile.person_id for profile in people],
        [passage.kind.value for passage in kept],
        [passage.text for passage in kept],
        [len(profile.passages) for profile in people],
        np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32),
        np.stack([profile.direction() for profile in people]) if people else np.zeros((0, 0), np.float32),
    )


def _unpacked_side(packed: _Packed) -> dict[str, SemanticProfile]:
    keys, person_ids, kinds, texts, counts, vectors, directions = packed
    passages = [Passage(PassageKind(kind), text) for kind, text in zip(kinds, texts, strict=True)]
    profiles, start = {}, 0
    for row, (key, person_id, count) in enumerate(zip(keys, person_ids, counts, strict=True)):
        end = start + count
        profiles[key] = SemanticProfile.restored(
            person_id, tuple(passages[start:end]), vectors[start:end], directions[row]
        )
        start = end
    return profiles


def _unpacked(mentees: _Packed, mentors: _Packed, dimensions: int) -> SemanticGoals:
    return SemanticGoals(_unpacked_side(mentees), _unpacked_side(mentors), dimensions)


def _wordless_mentors(cohort: Cohort) -> npt.NDArray[np.bool_]:
    """The mentors whose experience TF-IDF reads no word from (its columns: features x mentors)."""
    experience = cohort.experience_vectors
    if isinstance(experience, np.ndarray):
        return np.asarray(~experience.any(axis=0), dtype=bool)
    words = np.bincount(sparse.csr_array(experience).indices, minlength=cohort.mentor_count)
    return np.asarray(words == 0, dtype=bool)


def _having(profiles: Mapping[str, SemanticProfile], ids: Iterable[str]) -> dict[str, SemanticProfile]:
    return {person_id: profiles[person_id] for person_id in ids if person_id in profiles}


def _mixed(
    cohort: Cohort, goals: SemanticGoals, has_mentee: npt.NDArray[np.bool_], has_mentor: npt.NDArray[np.bool_]
) -> Cohort:
    semantic_mentees = quantised_directions(
        direction_matrix((m.person_id for m in cohort.mentees), goals.mentees, goals.dimensions)
    )
    semantic_mentors = quantised_directions(
        direction_matrix((m.person_id for m in cohort.mentors), goals.mentors, goals.dimensions)
    )
    tfidf_mentees = sparse.csr_array(cohort.goal_vectors, dtype=np.float32)
    tfidf_mentors = sparse.csr_array(cohort.experience_vectors, dtype=np.float32)  # features x mentors
    without_mentee = sparse.diags_array((~has_mentee).astype(np.float32))
    with_mentee = sparse.diags_array(has_mentee.astype(np.float32))
    without_mentor = sparse.diags_array((~has_mentor).astype(np.float32))
    # [(1 - h_i) t_i, h_i t_i] . [t_j, (1 - h_j) t_j] = (1 - h_i h_j) t_i.t_j: TF-IDF unless both embedded.
    mentee_tfidf = sparse.hstack([without_mentee @ tfidf_mentees, with_mentee @ tfidf_mentees], format="csr")
    mentor_tfidf = sparse.vstack([tfidf_mentors, tfidf_mentors @ without_mentor], format="csr")
    mentee_tfidf.eliminate_zeros()
    mentor_tfidf.eliminate_zeros()
    return dataclasses.replace(
        cohort,
        goal_vectors=FactorSum((semantic_mentees, mentee_tfidf.astype(np.float32))),
        experience_vectors=(
            np.ascontiguousarray(semantic_mentors.T),
            mentor_side(mentor_tfidf.astype(np.float32), cohort.mentee_count),
        ),
    )
