"""In-memory twins of the semantic and learning ports (use_cases/ai_ports.py) and a deterministic
stand-in for the sentence model, for use-case tests without a server or the model."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matching.domain.outcome_record import OutcomeChange, PairOutcomeRecord, apply_change
from matching.domain.semantic import SemanticProfile, Vectors
from matching.domain.semantic_goals import SemanticGoals, Side
from matching.domain.weight_learning import WeightProposal
from matching.embeddings import InMemoryEmbeddingCache, ProfileEmbedder
from matching.store_learning import SemanticReads
from matching.use_cases.ai_ports import LearningParts, SemanticParts
from matching.use_cases.context import Matching

DIMENSIONS = 64


class WordsEncoder:
    """Each word hashed to a dimension: texts that share words point the same way (no model)."""

    model_id = "words-test-encoder"
    dimensions = DIMENSIONS

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.encoded.extend(texts)
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


class MemoryEmbeddedProfiles:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], tuple[int, str, dict[Side, SemanticProfile]]] = {}

    async def stamp_of(self, org_id: str, person_id: str) -> tuple[int, str] | None:
        record = self.records.get((org_id, person_id))
        return None if record is None else (record[0], record[1])

    async def save(
        self,
        org_id: str,
        person_id: str,
        profile_version: int,
        digest: str,
        sides: Mapping[Side, SemanticProfile],
    ) -> bool:
        stored = self.records.get((org_id, person_id))
        if stored is not None and (stored[0] > profile_version or stored[:2] == (profile_version, digest)):
            return False
        self.records[(org_id, person_id)] = (profile_version, digest, dict(sides))
        return True

    async def of_people(self, org_id: str, person_ids: Iterable[str] | None = None) -> SemanticGoals | None:
        wanted = None if person_ids is None else set(person_ids)
        people = {
            p: r[2] for (o, p), r in self.records.items() if o == org_id and (wanted is None or p in wanted)
        }
        if not people:
            return None
        return SemanticGoals(
            mentees={p: sides[Side.MENTEE] for p, sides in people.items() if Side.MENTEE in sides},
            mentors={p: sides[Side.MENTOR] for p, sides in people.items() if Side.MENTOR in sides},
            dimensions=DIMENSIONS,
        )

    async def forget(self, org_id: str, person_id: str) -> None:
        self.records.pop((org_id, person_id), None)


class MemoryPairOutcomes:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    async def note(self, org_id: str, pair_id: str, change: OutcomeChange) -> None:
        current = self.records.get((org_id, pair_id), {"org_id": org_id, "pair_id": pair_id})
        self.records[(org_id, pair_id)] = apply_change(current, change)

    async def of_program(self, org_id: str, program_id: str) -> list[PairOutcomeRecord]:
        return [
            PairOutcomeRecord.model_validate(r)
            for (o, _), r in self.records.items()
            if o == org_id and r.get("program_id") == program_id
        ]

    async def started(self, org_id: str, pair_ids: list[str]) -> set[str]:
        records = (self.records.get((org_id, pair_id)) for pair_id in pair_ids)
        return {
            r["pair_id"]
            for r in records
            if r is not None and all(r.get(f) is not None for f in ("program_id", "started_at", "components"))
        }

    async def forget_person(self, org_id: str, person_id: str) -> None:
        for key in [
            k for k, r in self.records.items() if k[0] == org_id and person_id in r["participant_ids"]
        ]:
            del self.records[key]


class MemoryWeightProposals:
    def __init__(self) -> None:
        self.proposals: dict[tuple[str, str, str], WeightProposal] = {}

    async def save(self, proposal: WeightProposal) -> None:
        self.proposals[(proposal.org_id, proposal.program_id, proposal.proposal_id)] = proposal

    async def get(self, org_id: str, program_id: str, proposal_id: str) -> WeightProposal | None:
        return self.proposals.get((org_id, program_id, proposal_id))


def with_memory_learning(context: Matching, encoder: WordsEncoder | None = None) -> Matching:
    """The in-memory context with embeddings (by `encoder`), outcome records and proposals in memory."""
    encoder = encoder or WordsEncoder()
    profiles = MemoryEmbeddedProfiles()
    return dataclasses.replace(
        context,
        reads=SemanticReads(context.reads, profiles),
        semantic=SemanticParts(
            ProfileEmbedder(encoder, InMemoryEmbeddingCache()), encoder.model_id, profiles
        ),
        learning=LearningParts(MemoryPairOutcomes(), MemoryWeightProposals()),
    )
