"""The personality questionnaire matching understands, and how a person's short answers (profile's
`personality`: question -> answer) become the engine's vector of 1..5 scores.

Four questions, each a scale between two poles; the portal asks them with these keys:

| key         | 1 (low pole)                      | 5 (high pole)                       |
|-------------|-----------------------------------|-------------------------------------|
| `energy`    | calm, reserved, quiet, introvert  | energetic, outgoing, extrovert      |
| `structure` | spontaneous, flexible, improvise  | structured, planned, organised      |
| `feedback`  | gentle, supportive, encouraging   | direct, blunt, candid               |
| `pace`      | steady, reflective, slow          | fast, quick, brisk                  |

An answer is a number 1 to 5, a Likert phrase ("strongly disagree" 1 ... "neutral" 3 ... "strongly
agree" 5, read as agreeing with the high pole), low / medium / high, or one of the pole words
above ("balanced", "mixed", "ambivert", "both" are 3). Keys and answers are matched case- and
space-insensitively. Unknown questions and answers are ignored; a known question left unanswered
counts as the middle (3) when at least one known question was answered, and a person who answered
none has no vector (the engine then gives the personality component its neutral midpoint).
"""

from __future__ import annotations

from collections.abc import Mapping

QUESTIONS: tuple[str, ...] = ("energy", "structure", "feedback", "pace")
MIDDLE = 3

_POLES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "energy": (
        frozenset({"calm", "reserved", "quiet", "introvert", "introverted"}),
        frozenset({"energetic", "outgoing", "extrovert", "extroverted", "lively"}),
    ),
    "structure": (
        frozenset({"spontaneous", "flexible", "improvise", "improvised", "adaptable"}),
        frozenset({"structured", "planned", "organised", "organized", "methodical"}),
    ),
    "feedback": (
        frozenset({"gentle", "supportive", "encouraging", "soft", "diplomatic"}),
        frozenset({"direct", "blunt", "candid", "frank", "straightforward"}),
    ),
    "pace": (
        frozenset({"steady", "reflective", "slow", "deliberate", "measured"}),
        frozenset({"fast", "quick", "brisk", "rapid"}),
    ),
}
_SCALE: dict[str, int] = {
    "strongly disagree": 1,
    "disagree": 2,
    "neutral": 3,
    "neither": 3,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
    "very low": 1,
    "low": 2,
    "medium": 3,
    "high": 4,
    "very high": 5,
    "balanced": 3,
    "mixed": 3,
    "ambivert": 3,
    "both": 3,
}


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def answer_score(question: str, answer: str) -> int | None:
    """The answer's place on the question's 1..5 scale, or None when it is not understood."""
    text = _normal(answer)
    if text in {"1", "2", "3", "4", "5"}:
        return int(text)
    if text in _SCALE:
        return _SCALE[text]
    low, high = _POLES[question]
    if text in low:
        return 1
    if text in high:
        return 5
    return None


def personality_vector(answers: Mapping[str, str]) -> tuple[int, ...]:
    """The scores for `QUESTIONS` in order, or () when no known question has a usable answer."""
    scores: dict[str, int] = {}
    for key, answer in answers.items():
        question = _normal(key).replace(" ", "_")
        if question in _POLES and (score := answer_score(question, answer)) is not None:
            scores[question] = score
    if not scores:
        return ()
    return tuple(scores.get(question, MIDDLE) for question in QUESTIONS)
