"""What a profile may hold: skill levels, the skill taxonomy with free-text fallback, language codes,
and the field-level rules the API and the HR import share (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


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
