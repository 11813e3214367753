"""The people the service tells things to: our copy of each person's profile, their preferences,
the org's escalation contacts, and forgetting a person when their profile is erased."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mentorship_schemas import ProfileErased, ProfileRegistered, ProfileUpdated
from servicekit.erasure import pseudonym

from notifications.domain.preferences import DEFAULT_PREFERENCES, Preferences
from notifications.domain.recipient import Recipient, recipient_id
from notifications.ports import Stores
from notifications.use_cases.upsert import change_or_create


@dataclass(frozen=True)
class ContactDetails:
    """How to reach an admin who has no profile in the program (a profile's values win)."""

    display_name: str | None = None
    email: str | None = None
    timezone: str | None = None


class People:
    def __init__(self, stores: Stores, now: Callable[[], datetime]) -> None:
        self._stores = stores
        self._now = now

    async def keep_profile(self, event: ProfileRegistered | ProfileUpdated) -> None:
        """Keep our copy of a person's name, email, timezone and locale (newer versions only)."""
        await change_or_create(
            self._stores.recipients,
            Recipient.new(event.org_id, event.person_id),
            lambda r: r.apply_profile(event),
        )

    async def erase(self, event: ProfileErased) -> None:
        """Remove the person's contact points, preferences and messages, their name and email from
        other people's messages and their id from everything kept (a pseudonym stands in); keep a
        tombstone so a late event cannot bring them back."""
        org_id, person_id = event.org_id, event.person_id
        known = await self._stores.recipients.get(recipient_id(org_id, person_id))
        names = [name for name in (known.display_name, known.email) if name] if known is not None else []
        # Scrub before the tombstone, while we still know their name (a redelivery after a crash
        # still finds it), and again after it: a message written meanwhile by a handler that read
        # them as not erased is found then (a handler checks the tombstone after its write).
        await scrub_person(self._stores, org_id, person_id, names)
        await change_or_create(
            self._stores.recipients, Recipient.new(org_id, person_id), lambda r: r.erase(event.erased_at)
        )
        await scrub_person(self._stores, org_id, person_id, names)
        await self._stores.contacts.remove(org_id, person_id)

    async def preferences(self, org_id: str, person_id: str) -> Preferences:
        known = await self._stores.recipients.get(recipient_id(org_id, person_id))
        return (known.preferences if known is not None else None) or DEFAULT_PREFERENCES

    async def set_preferences(self, org_id: str, person_id: str, preferences: Preferences) -> Preferences:
        """Raises RecipientErased for an erased person."""
        await change_or_create(
            self._stores.recipients,
            Recipient.new(org_id, person_id),
            lambda r: r.set_preferences(preferences),
        )
        return preferences

    async def escalation_contacts(self, org_id: str) -> list[str]:
        return await self._stores.contacts.admins(org_id)

    async def register_escalation_contact(
        self, org_id: str, person_id: str, details: ContactDetails | None = None
    ) -> list[str]:
        """The admin receives the org's escalations (and proposed matches to approve)."""
        if details is not None and (details.display_name or details.email or details.timezone):
            await change_or_create(
                self._stores.recipients,
                Recipient.new(org_id, person_id),
                lambda r: r.set_contact_details(
                    display_name=details.display_name, email=details.email, timezone=details.timezone
                ),
            )
        await self._stores.contacts.add(org_id, person_id)
        return await self._stores.contacts.admins(org_id)

    async def unregister_escalation_contact(self, org_id: str, person_id: str) -> None:
        await self._stores.contacts.remove(org_id, person_id)


async def scrub_person(stores: Stores, org_id: str, person_id: str, names: list[str]) -> None:
    """The person's own messages and deliveries go; other messages keep no name and no id."""
    stand_in = pseudonym(org_id, person_id)
    for mentioning in await stores.index.mentioning(org_id, person_id):
        await stores.notifications.change(
            mentioning,
            lambda n: (
                (n.forget_person(person_id, names) if names else []) + n.forget_person_id(person_id, stand_in)
            ),
        )
    await stores.pairs.forget_person(org_id, person_id, stand_in)
    await stores.queue.forget_recipient(org_id, person_id)
    await stores.index.forget_recipient(org_id, person_id)
