"""Consented inclusion attributes from the restricted topic, kept apart from the candidates and
used only for a program's fairness floor. Withdrawn consent forgets them; the record keeps only
the profile version, so a replayed older event cannot bring them back."""

from __future__ import annotations

from pydantic import Field
from servicekit.aggregates import AggregateRoot, Emitted


def inclusion_key(org_id: str, person_id: str) -> str:
    return f"{org_id}:{person_id}"


class InclusionRecord(AggregateRoot):
    person_id: str
    attributes: dict[str, str] = Field(default_factory=dict)
    profile_version: int = 0

    @classmethod
    def new(cls, org_id: str, person_id: str) -> InclusionRecord:
        return cls(id=inclusion_key(org_id, person_id), org_id=org_id, person_id=person_id)

    def record(self, profile_version: int, consented: bool, attributes: dict[str, str]) -> list[Emitted]:
        if profile_version <= self.profile_version:
            return []  # stale or repeated
        self.attributes = dict(attributes) if consented else {}
        self.profile_version = profile_version
        return []

    def belongs_to(self, attribute: str, value: str) -> bool:
        return self.attributes.get(attribute) == value
