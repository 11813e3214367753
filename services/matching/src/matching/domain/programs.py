"""What a program asks of matching: its type, the weight of each compatibility component, and the
hard rules that decide who may be paired at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ProgramType(StrEnum):
    ONE_TO_ONE = "one_to_one"
    PEER = "peer"
    REVERSE = "reverse"
    SKILLS_BASED = "skills_based"
    CIRCLES = "circles"


# The order is the order of the explanation's breakdown.
COMPONENTS: tuple[str, ...] = (
    "skills",
    "goals",
    "level_gap",
    "communication_style",
    "personality",
    "timezone",
    "language",
    "modality",
    "cross_department",
)

DEFAULT_WEIGHTS: dict[str, float] = {
    "skills": 0.30,
    "goals": 0.15,
    "level_gap": 0.15,
    "communication_style": 0.05,
    "personality": 0.05,
    "timezone": 0.10,
    "language": 0.10,
    "modality": 0.05,
    "cross_department": 0.05,
}


@dataclass(frozen=True)
class MatchingRules:
    """Hard rules applied before any scoring."""

    # When both people state their languages, they must share one (unknown does not rule anyone out).
    require_shared_language: bool = True
    exclude_reporting_line: bool = True
    exclude_previous_pairs: bool = True
    # Skills-based programs: a mentor must offer this skill.
    focus_skill: str | None = None


@dataclass(frozen=True)
class MatchingPolicy:
    """How one program matches: the program type, the weights, the rules and the solver's knobs."""

    org_id: str
    program_type: ProgramType = ProgramType.ONE_TO_ONE
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rules: MatchingRules = field(default_factory=MatchingRules)
    # Score given up per mentee already on a mentor's list, so equal matches go to less loaded mentors.
    load_spread_penalty: float = 0.01
    # Per-program cap on a mentor's mentees (within the mentor's own remaining capacity).
    program_mentor_capacity: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown compatibility components: {sorted(unknown)}")
        if any(weight < 0 for weight in self.weights.values()):
            raise ValueError("weights must not be negative")
        if sum(self.weights.values()) <= 0:
            raise ValueError("at least one weight must be positive")
        if not 0 <= self.load_spread_penalty <= 1:
            raise ValueError("load_spread_penalty must lie in [0, 1]")

    def normalised_weight(self, component: str) -> float:
        return self.weights.get(component, 0.0) / sum(self.weights.values())
