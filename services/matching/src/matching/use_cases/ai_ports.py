"""What the semantic goals component and learning from outcomes need of storage and of the model: the
embedded profiles of the read model, the per-pair outcome records, the weight proposals admins preview
(each a Protocol, on the store in store_learning.py and in memory in the tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from matching.domain.outcome_record import OutcomeChange, PairOutcomeRecord
from matching.domain.semantic import SemanticProfile
from matching.domain.semantic_goals import SemanticGoals, Side
from matching.domain.weight_learning import WeightProposal
from matching.embeddings import ProfileEmbedder


class EmbeddedProfiles(Protocol):
    """Each person's embedded texts (one profile per side they have), one record per person."""

    async def stamp_of(self, org_id: str, person_id: str) -> tuple[int, str] | None:
        """(profile version, texts digest) of what is stored for the person, or None."""
        ...

    async def save(
        self,
        org_id: str,
        person_id: str,
        profile_version: int,
        digest: str,
        sides: Mapping[Side, SemanticProfile],
    ) -> bool:
        """Store unless a record of this or a newer profile version exists; whether it was stored."""
        ...

    async def of_people(self, org_id: str, person_ids: Iterable[str] | None = None) -> SemanticGoals | None:
        """The embedded profiles of these people (None: the whole org); None when there are none."""
        ...

    async def forget(self, org_id: str, person_id: str) -> None:
        """Delete the person's record and the cached embeddings of their passages."""
        ...


@dataclass(frozen=True)
class SemanticParts:
    embedder: ProfileEmbedder
    model_id: str
    profiles: EmbeddedProfiles


class PairOutcomes(Protocol):
    async def note(self, org_id: str, pair_id: str, change: OutcomeChange) -> None:
        """Apply one event's effect to the pair's record, creating it if needed (idempotent)."""
        ...

    async def of_program(self, org_id: str, program_id: str) -> list[PairOutcomeRecord]: ...

    async def started(self, org_id: str, pair_ids: list[str]) -> set[str]:
        """Those of the pairs whose record has its start (program, time and components)."""
        ...

    async def forget_person(self, org_id: str, person_id: str) -> None:
        """Delete the records of every pair the person was in."""
        ...


class WeightProposals(Protocol):
    async def save(self, proposal: WeightProposal) -> None: ...

    async def get(self, org_id: str, program_id: str, proposal_id: str) -> WeightProposal | None: ...


@dataclass(frozen=True)
class LearningParts:
    outcomes: PairOutcomes
    proposals: WeightProposals
