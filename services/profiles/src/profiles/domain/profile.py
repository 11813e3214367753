"""What a profile may hold: skill levels, the skill taxonomy with free-text fallback, language codes,
employee ids, and the field-level rules the API and the HR import share (pure, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel


class SkillLevel(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    EXPERT = "expert"


class CommunicationStyle(StrEnum):
    DIRECT = "direct"
    REFLECTIVE = "reflective"
    COLLABORATIVE = "collaborative"
    STRUCTURED = "structured"


class Modality(StrEnum):
    VIDEO = "video"
    IN_PERSON = "in_person"
    CHAT = "chat"


class Seniority(StrEnum):
    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"
    LEAD = "lead"
    PRINCIPAL = "principal"
    EXECUTIVE = "executive"


DEFAULT_TAXONOMY: tuple[str, ...] = (
    "python",
    "java",
    "go",
    "javascript",
    "typescript",
    "rust",
    "sql",
    "data analysis",
    "machine learning",
    "cloud architecture",
    "kubernetes",
    "security",
    "testing",
    "devops",
    "product management",
    "project management",
    "ux design",
    "leadership",
    "people management",
    "public speaking",
    "negotiation",
    "stakeholder management",
    "strategy",
    "finance",
    "sales",
    "marketing",
    "customer success",
    "career growth",
    "writing",
    "mentoring",
)

# ISO 639-1 codes: a language is "xx" or "xx-YY" (region) with xx from this list.
_ISO_639_1_CODES = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln
lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi
pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti
tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())


# The same rule as the events' `Id`: an employee id must travel in every profile event.
EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def is_employee_id(value: str) -> bool:
    return EMPLOYEE_ID.fullmatch(value) is not None


def is_language_code(code: str) -> bool:
    base, _, region = code.partition("-")
    return base in ISO_639_1 and (not region or (len(region) == 2 and region.isalpha() and region.isupper()))


@dataclass(frozen=True)
class NormalizedSkill:
    name: str
    in_taxonomy: bool


class Taxonomy:
    """Skill names from the configured taxonomy, matched case- and space-insensitively; anything
    else is kept as free text (so a new skill is never rejected, only marked as not curated)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._by_key = {self._key(name): name for name in names}

    @staticmethod
    def _key(name: str) -> str:
        return " ".join(name.lower().replace("_", " ").replace("-", " ").split())

    def normalize(self, name: str) -> NormalizedSkill:
        key = self._key(name)
        if key in self._by_key:
            return NormalizedSkill(self._by_key[key], True)
        return NormalizedSkill(" ".join(name.split()), False)


class OfferedSkill(BaseModel):
    name: str
    level: SkillLevel = SkillLevel.INTERMEDIATE
    in_taxonomy: bool = False


class WantedSkill(BaseModel):
    name: str
    target_level: SkillLevel | None = None
    in_taxonomy: bool = False


def _distinct(taxonomy: Taxonomy, names: Iterable[str]) -> Iterator[tuple[int, NormalizedSkill]]:
    """Each skill once (the same skill twice, in any spelling: the first counts), normalized."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        normalized = taxonomy.normalize(name)
        if normalized.name.lower() not in seen:
            seen.add(normalized.name.lower())
            yield index, normalized


def offered_skills(taxonomy: Taxonomy, skills: list[tuple[str, SkillLevel]]) -> list[OfferedSkill]:
    return [
        OfferedSkill(name=skill.name, level=skills[index][1], in_taxonomy=skill.in_taxonomy)
        for index, skill in _distinct(taxonomy, (name for name, _ in skills))
    ]


def wanted_skills(taxonomy: Taxonomy, skills: list[tuple[str, SkillLevel | None]]) -> list[WantedSkill]:
    return [
        WantedSkill(name=skill.name, target_level=skills[index][1], in_taxonomy=skill.in_taxonomy)
        for index, skill in _distinct(taxonomy, (name for name, _ in skills))
    ]
