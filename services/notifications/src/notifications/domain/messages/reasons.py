"""Codes and phrases that events carry, as words a person reads, in their language.

- RelationshipStagnant's `reasons` and `suggested_actions` are codes (sessions' domain/health.py):
  each known one is a sentence; an unknown code is left out (a generic sentence stands in when
  nothing is left), never shown raw.
- PairCreated's and MatchProposed's `reasons` are English phrases in a fixed shape (matching's
  domain/compatibility.py: "offers python (advanced)", "3 working hours overlap", ...): each known
  shape is rewritten in the recipient's language, with profile codes (levels, modalities, languages)
  as words. A phrase of another shape is kept in English and left out in any other language, so no
  English reaches a reader of another language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from notifications.domain.texts import DEFAULT_LANGUAGE, Texts

_NO_SESSION = re.compile(r"no_session_for_(?P<multiple>\d+(?:\.\d+)?)x_cadence")
_SKILL = re.compile(r"(?P<skill>[^,()]+?) \((?P<level>[a-z_]+)\)")
_CODES = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")  # snake_case: a code, not words


def stagnation_reasons(codes: Sequence[str], texts: Texts) -> list[str]:
    """Why a pair looks stagnant, a sentence per known reason."""
    sentences: list[str] = []
    for code in codes:
        if found := _NO_SESSION.fullmatch(code):
            multiple = float(found["multiple"])
            sentences.append(
                texts("stagnation_reason.no_session_for_cadence", multiple=texts.number(multiple))
            )
        elif sentence := texts.code("stagnation_reason", code):
            sentences.append(sentence)
    return list(dict.fromkeys(sentences)) or [texts("stagnation_reason.unknown")]


DEFAULT_ACTIONS = ("schedule_the_next_session", "reevaluate_goals")


def suggested_actions(codes: Sequence[str], texts: Texts) -> list[str]:
    """What the pair could do, a sentence per known action. A producer's own sentence (not a code)
    is kept for English readers."""
    sentences: list[str] = []
    for code in codes:
        if sentence := texts.code("suggested_action", code):
            sentences.append(sentence)
        elif texts.language == DEFAULT_LANGUAGE and " " in code.strip() and not _CODES.search(code):
            sentences.append(code.strip())
    if not sentences:
        sentences = [texts(f"suggested_action.{code}") for code in DEFAULT_ACTIONS]
    return list(dict.fromkeys(sentences))


def why_matched(phrases: Sequence[str], texts: Texts) -> str:
    """`Why this match: ...; ....` in the reader's language, or "" when nothing can be said."""
    rendered = [text for phrase in phrases if (text := match_reason(phrase.strip(), texts))]
    return texts("match.why", reasons="; ".join(rendered)) if rendered else ""


def match_reason(phrase: str, texts: Texts) -> str | None:
    """One of matching's phrases in the reader's language; None when it cannot be said there."""
    for pattern, render in _SHAPES:
        if found := pattern.fullmatch(phrase):
            said = render(found, texts)
            if said is not None:
                return said
    if texts.language == DEFAULT_LANGUAGE and not _CODES.search(phrase):
        return phrase
    return None


def _skills(found: re.Match[str], texts: Texts) -> str | None:
    items = [m for m in _SKILL.finditer(found["skills"])]
    if ", ".join(m.group(0) for m in items) != found["skills"]:
        return None
    skills = [
        texts("match_reason.skill_level", skill=m["skill"], level=texts.word("proficiency", m["level"]))
        for m in items
    ]
    return texts("match_reason.skills", skills=", ".join(skills))


def _goal_words(found: re.Match[str], texts: Texts) -> str:
    return texts("match_reason.goals_words", words=found["words"])


def _levels(found: re.Match[str], texts: Texts) -> str:
    return texts(
        "match_reason.levels",
        mentor_level=texts.word("seniority", found["mentor"]),
        mentee_level=texts.word("seniority", found["mentee"]),
    )


def _style(found: re.Match[str], texts: Texts) -> str:
    return texts("match_reason.style", style=texts.word("style", found["style"]))


def _personality(found: re.Match[str], texts: Texts) -> str:
    return texts("match_reason.personality")


def _timezone(found: re.Match[str], texts: Texts) -> str:
    hours = float(found["hours"])
    form = "one" if hours == 1 else "other"
    return texts(f"match_reason.timezone.{form}", count=texts.number(hours, 1))


def _languages(found: re.Match[str], texts: Texts) -> str:
    codes = [code.strip() for code in found["languages"].split(",")]
    names = [texts.code("language", code.lower()) or code.upper() for code in codes]
    return texts("match_reason.languages", languages=texts.listed(names))


def _modalities(found: re.Match[str], texts: Texts) -> str:
    words = [texts.word("modality", code.strip()) for code in found["modalities"].split(" or ")]
    return texts("match_reason.modalities", modalities=texts.listed(words, joiner=texts.or_word))


def _department(found: re.Match[str], texts: Texts) -> str:
    return texts("match_reason.department", department=found["department"])


_SHAPES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], Texts], str | None]], ...] = (
    (re.compile(r"offers (?P<skills>.+)"), _skills),
    (re.compile(r"experience matches your goals: (?P<words>.+)"), _goal_words),
    (re.compile(r"(?P<mentor>[a-z_]+) mentor for a (?P<mentee>[a-z_]+) mentee"), _levels),
    (re.compile(r"same communication style \((?P<style>[^()]+)\)"), _style),
    (re.compile(r"similar answers to the personality questions"), _personality),
    (re.compile(r"(?P<hours>\d+(?:\.\d+)?) working hours overlap"), _timezone),
    (re.compile(r"speaks (?P<languages>[A-Za-z-]+(?:, [A-Za-z-]+)*)"), _languages),
    (re.compile(r"both can meet (?P<modalities>.+)"), _modalities),
    (re.compile(r"from another department \((?P<department>.+)\)"), _department),
)
