"""A recipient: our copy of a person (from profile events: name, contact points, timezone, locale),
their notification preferences and daily send counters; a tombstone once they are erased.

Pure: the time is a parameter. A recipient causes no events; its methods return `[]` so the
aggregate store saves them like any other change.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from mentorship_schemas import ProfileRegistered, ProfileUpdated
from mentorship_schemas.events import NotificationChannel
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from servicekit.aggregates import AggregateRoot, Emitted
from servicekit.erasure import person_mark, pseudonym

from notifications.domain.messages import Person
from notifications.domain.preferences import (
    DEFAULT_PREFERENCES,
    CapCounter,
    CapDecision,
    Category,
    CategoryPreference,
    Preferences,
    check_frequency_cap,
    zone,
)


class RecipientErased(Exception):
    """The person was erased: nothing may be stored for them again."""


class SentToday(BaseModel):
    """How many messages went out on one channel in one category on one local day."""

    model_config = ConfigDict(frozen=True)

    day: str
    sent: int


def recipient_id(org_id: str, person_id: str) -> str:
    """Recipients are per org (the same employee id in two orgs is two people), keyed by a mark of
    the id rather than the id, so an erased person's tombstone keeps no id."""
    return f"{org_id}:{person_mark(org_id, person_id)}"


class Recipient(AggregateRoot):
    person_id: str
    display_name: str | None = None
    email: str | None = None
    timezone: str | None = None
    locale: str | None = None
    profile_version: int | None = None  # the newest profile event applied; None: none yet
    preferences: Preferences | None = None
    caps: dict[str, SentToday] = Field(default_factory=dict)  # "<channel>_<category>" -> today's count
    erased: bool = False
    erased_at: datetime | None = None

    @classmethod
    def new(cls, org_id: str, person_id: str) -> Recipient:
        return cls(id=recipient_id(org_id, person_id), org_id=org_id, person_id=person_id)

    @field_validator("preferences", mode="before")
    @classmethod
    def _readable_preferences(cls, value: Any) -> Any:
        # Preferences written by an older release that no longer validate fall back to the defaults
        # rather than making the person unreachable.
        if value is None or isinstance(value, Preferences):
            return value
        try:
            return Preferences.model_validate(value)
        except ValueError:
            return None

    @field_serializer("preferences")
    def _stored_preferences(self, preferences: Preferences | None) -> dict[str, Any] | None:
        # Wall-clock times and enum keys as JSON values: what the store can hold.
        return preferences.model_dump(mode="json") if preferences is not None else None

    # ------------------------------------------------------------------ reading

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    def person(self) -> Person:
        return Person(
            self.person_id, self.display_name, self.email, self.timezone or "UTC", self.locale or "en"
        )

    def preference_for(self, category: Category) -> CategoryPreference:
        return (self.preferences or DEFAULT_PREFERENCES).for_category(category)

    # ------------------------------------------------------------------ changes

    def apply_profile(self, event: ProfileRegistered | ProfileUpdated) -> list[Emitted]:
        """Newer profile versions only, and never over an erasure's tombstone."""
        if self.erased or (self.profile_version or 0) >= event.version:
            return []
        self.display_name = event.display_name
        self.email = event.email
        self.timezone = event.timezone
        self.locale = event.locale
        self.profile_version = event.version
        return []

    def set_preferences(self, preferences: Preferences) -> list[Emitted]:
        if self.erased:
            raise RecipientErased(self.person_id)
        self.preferences = preferences
        return []

    def set_contact_details(
        self, *, display_name: str | None, email: str | None, timezone: str | None
    ) -> list[Emitted]:
        """How to reach an admin without a profile; only while no profile event told us better."""
        if self.erased or self.profile_version is not None:
            return []
        self.display_name = display_name or self.display_name
        self.email = email or self.email
        self.timezone = timezone or self.timezone
        return []

    def erase(self, at: datetime) -> list[Emitted]:
        """Forget everything but the tombstone, so a late event cannot bring them back."""
        for name in ("display_name", "email", "timezone", "locale", "profile_version", "preferences"):
            setattr(self, name, None)
        self.caps = {}
        self.erased = True
        self.erased_at = at
        self.person_id = pseudonym(self.org_id, self.person_id)
        return []

    def take_send_slot(
        self, channel: NotificationChannel, category: Category, cap: int, now: datetime
    ) -> tuple[CapDecision, list[Emitted]]:
        """One more message on `channel` in `category` today, if the daily cap allows it."""
        key = f"{channel.value}_{category.value}"
        stored = self.caps.get(key)
        counter = CapCounter(stored.day, stored.sent) if stored is not None else None
        decision = check_frequency_cap(counter, cap, now, self.tz)
        if decision.allowed:
            self.caps = {**self.caps, key: SentToday(day=decision.counter.day, sent=decision.counter.sent)}
        return decision, []
