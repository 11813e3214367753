"""Words people read instead of codes: languages by name (ISO 639-1 code -> English name; a code
not listed here is shown as it is), and a list of reasons as one sentence."""

from __future__ import annotations

from collections.abc import Sequence

LANGUAGES: dict[str, str] = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def language_name(code: str) -> str:
    return LANGUAGES.get(code.lower(), code)


def as_sentence(lead: str, clauses: Sequence[str]) -> str:
    """'Lead: a, b and c.' (just 'Lead.' without clauses)."""
    if not clauses:
        return f"{lead}."
    listed = clauses[0] if len(clauses) == 1 else f"{', '.join(clauses[:-1])} and {clauses[-1]}"
    return f"{lead}: {listed}."
