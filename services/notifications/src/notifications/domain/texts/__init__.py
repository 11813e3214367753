"""The words people read, per language: one catalogue of templates per locale (a small gettext),
chosen by the recipient's locale, and the grammar a template cannot hold (lists, plurals, local
dates, codes as words). An unknown locale reads English. Pure: no I/O, no network.

A template's key names where it is used (`pair_created.mentee.title`); its placeholders are named
(`{mentor}`), so a translation may put them in another order. Every language has every key and
the same placeholders (tests/notifications/test_texts.py checks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.domain.texts import de, en

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Texts:
    """One language's catalogue and its grammar."""

    language: str
    catalogue: Mapping[str, str]
    weekdays: Sequence[str]  # Monday first
    months: Sequence[str]  # January first
    and_word: str  # joins the last two items of a list
    or_word: str
    decimal_mark: str
    date_format: str  # placeholders: weekday day month month_name year hour minute zone

    def __call__(self, key: str, /, **values: object) -> str:
        """The template `key` filled in; a missing key is a bug (tests check every language)."""
        return self.catalogue[key].format(**values)

    def has(self, key: str) -> bool:
        return key in self.catalogue

    def plural(self, key: str, count: int, /, **values: object) -> str:
        """`key.one` for exactly one, else `key.other`; `count` is passed to the template."""
        return self(f"{key}.{'one' if count == 1 else 'other'}", count=count, **values)

    def code(self, group: str, code: str) -> str | None:
        """A code from an event (`missed_sessions_in_a_row`) in words, or None when unknown."""
        key = f"{group}.{code}"
        return self.catalogue.get(key)

    def word(self, group: str, code: str) -> str:
        """A profile value (`in_person`, `senior`) in words; an unknown one without underscores."""
        return self.code(group, code) or code.replace("_", " ")

    def listed(self, items: Sequence[str], *, joiner: str | None = None) -> str:
        """`A`, `A and B`, `A, B and C` (in this language; `joiner` instead of "and")."""
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {joiner or self.and_word} {items[-1]}"

    def number(self, value: float, digits: int = 2) -> str:
        """`0.87` / `0,87`; whole numbers without decimals (`3`)."""
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
        return text.replace(".", self.decimal_mark)

    def when(self, moment: datetime, timezone: str) -> str:
        """A moment in a person's own timezone, with the zone named (UTC for an unknown one)."""
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            tz, timezone = ZoneInfo("UTC"), "UTC"
        local = moment.astimezone(tz)
        return self.date_format.format(
            weekday=self.weekdays[local.weekday()],
            day=local.day,
            month=local.month,
            month_name=self.months[local.month - 1],
            year=local.year,
            hour=local.hour,
            minute=local.minute,
            zone=timezone,
        )


LANGUAGES: dict[str, Texts] = {
    module.LANGUAGE: Texts(
        language=module.LANGUAGE,
        catalogue=module.CATALOGUE,
        weekdays=module.WEEKDAYS,
        months=module.MONTHS,
        and_word=module.AND,
        or_word=module.OR,
        decimal_mark=module.DECIMAL_MARK,
        date_format=module.DATE_FORMAT,
    )
    for module in (en, de)
}


def language_of(locale: str | None) -> str:
    """The language we write for a BCP 47 tag (`de`, `de-AT`, `de_CH` -> `de`); English otherwise."""
    primary = (locale or "").replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def texts_for(locale: str | None) -> Texts:
    return LANGUAGES[language_of(locale)]
