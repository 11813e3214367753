"""What the profiles service does, in one place: register, read, change, pause and resume, erase and
search people, import them from HR, and count each mentor's pairs. Each use case takes its
dependencies explicitly, loads a `Person`, lets the domain decide, and saves it with its events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from mentorship_schemas.events import PersonRole
from servicekit.aggregates import Aggregates, Change, ConcurrentUpdate, Saved

from profiles.domain.availability import Availability
from profiles.domain.person import InvalidProfile, Person, PersonErased, person_key
from profiles.domain.profile import Seniority, Taxonomy, is_employee_id, offered_skills, wanted_skills
from profiles.models import ProfileChanges, ProfileIn

R = TypeVar("R")


@dataclass(frozen=True)
class Actor:
    """Who asks, as the portal vouched for them."""

    person_id: str
    org_id: str
    is_admin: bool = False  # program or HR admin
    is_hr_admin: bool = False


class ProfilesError(Exception):
    """A use case refused; the adapters turn each kind into their own answer."""


class ProfileNotFound(ProfilesError):
    def __init__(self) -> None:
        super().__init__("no such profile")


class NotAllowed(ProfilesError):
    def __init__(self, action: str) -> None:
        super().__init__(f"your roles do not allow you to {action}")


class Conflict(ProfilesError):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class EmailTaken(Exception):
    """Raised by the people store when a change would give two people of an org one email."""


class ImportStatus(StrEnum):
    """What an HR import did with one row."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    INVALID = "invalid"  # refused: the row changed nothing


@dataclass(frozen=True)
class ProfileQuery:
    """An admin's search: every given criterion must hold (skill names are normalized)."""

    role: PersonRole | None = None
    skill: str | None = None
    department: str | None = None
    level: Seniority | None = None
    availability: Availability | None = None
    text: str | None = None


@dataclass(frozen=True)
class SearchPage:
    total: int
    people: list[Person]


class People(Aggregates[Person], Protocol):
    """The people store: aggregates plus what searching and erasure need."""

    async def search(self, org_id: str, query: ProfileQuery, *, skip: int, limit: int) -> SearchPage: ...

    async def erased_before(self, org_id: str, person_id: str) -> bool:
        """Whether this person was erased (and their tombstone sealed): they may not come back."""
        ...

    async def seal_erasures(self, limit: int = 500) -> int:
        """Replace published tombstones by marks that keep no id; returns how many."""
        ...

    async def discard_unsent(self, aggregate_id: str, keep: Sequence[str]) -> None:
        """Drop events still waiting in the outbox, except `keep` (erasure: they hold personal data)."""


def _allow(allowed: bool, action: str) -> None:
    if not allowed:
        raise NotAllowed(action)


class Profiles:
    """The profiles use cases, bound to their store, taxonomy and clock."""

    def __init__(self, people: People, taxonomy: Taxonomy, now: Callable[[], datetime]) -> None:
        self.people = people
        self.taxonomy = taxonomy
        self.now = now

    async def register(self, actor: Actor, profile: ProfileIn) -> Person:
        person_id = profile.person_id or actor.person_id
        _allow(person_id == actor.person_id or actor.is_admin, "register someone else's profile")
        return await self._create(actor.org_id, person_id, profile)

    async def read(self, actor: Actor, person_id: str) -> Person:
        return await self._visible(actor, person_id, "read this profile")

    async def revise(self, actor: Actor, person_id: str, changes: ProfileChanges) -> Person:
        await self._visible(actor, person_id, "change this profile")
        person, _ = await self._revise(actor.org_id, person_id, changes)
        return person

    async def pause(self, actor: Actor, person_id: str) -> Person:
        return await self.revise(actor, person_id, ProfileChanges(accepting_mentees=False))

    async def resume(self, actor: Actor, person_id: str) -> Person:
        return await self.revise(actor, person_id, ProfileChanges(accepting_mentees=True))

    async def erase(self, actor: Actor, person_id: str) -> None:
        """Right to be forgotten: the person or an HR admin replaces the profile by a tombstone."""
        person = await self._visible(actor, person_id, "erase this profile")
        _allow(person_id == actor.person_id or actor.is_hr_admin, "erase this profile")
        saved = await self._change(person.id, actor.org_id, lambda p: p.erase(self.now()))
        await self.people.discard_unsent(person.id, keep=[emitted.event_id for emitted in saved.emitted])

    async def search(self, actor: Actor, query: ProfileQuery, page: int, page_size: int) -> SearchPage:
        _allow(actor.is_admin, "search profiles")
        if query.skill:
            query = replace(query, skill=self.taxonomy.normalize(query.skill).name.lower())
        return await self.people.search(actor.org_id, query, skip=(page - 1) * page_size, limit=page_size)

    async def import_profile(self, actor: Actor, person_id: str, profile: ProfileIn) -> ImportStatus:
        """One HR row: create or update the person by employee id."""
        _allow(actor.is_admin, "import profiles")
        current = await self.people.get(person_key(actor.org_id, person_id), actor.org_id)
        if current is None:
            await self._create(actor.org_id, person_id, profile)
            return ImportStatus.CREATED
        if current.is_erased:
            raise Conflict("person_id", "This person was erased; they cannot be imported again.")
        _, changed = await self._revise(actor.org_id, person_id, profile)
        return ImportStatus.UPDATED if changed else ImportStatus.UNCHANGED

    async def count_pair_started(self, org_id: str, mentor_id: str, pair_id: str, cause_id: str) -> None:
        """PairCreated: the mentor's load grows (once per pair, whatever the delivery order)."""
        key = person_key(org_id, mentor_id)
        await self.people.change(key, lambda mentor: mentor.start_pair(pair_id, cause_id), org_id=org_id)

    async def count_pair_ended(self, org_id: str, mentor_id: str, pair_id: str, cause_id: str) -> None:
        key = person_key(org_id, mentor_id)
        await self.people.change(key, lambda mentor: mentor.end_pair(pair_id, cause_id), org_id=org_id)

    # ------------------------------------------------------------------ shared steps

    async def _visible(self, actor: Actor, person_id: str, action: str) -> Person:
        person = await self.people.get(person_key(actor.org_id, person_id), actor.org_id)
        if person is None or person.is_erased:
            raise ProfileNotFound()
        _allow(person_id == actor.person_id or actor.is_admin, action)
        return person

    async def _create(self, org_id: str, person_id: str, profile: ProfileIn) -> Person:
        if not is_employee_id(person_id):
            raise InvalidProfile("person_id", "An employee id is 1 to 128 letters, digits or . _ : @ -.")
        if await self.people.erased_before(org_id, person_id):
            raise Conflict("person_id", "This person was erased; they cannot be registered again.")
        person, emitted = Person.register(org_id, person_id, self._values(profile), self.now())
        if not await self.people.create(person, emitted):
            # Ask which unique key clashed: servers word the error differently (emulator vs MongoDB).
            field = "person_id" if await self.people.get(person.id) else "email"
            raise Conflict(field, f"a profile with this {field} already exists in the org")
        return person

    async def _revise(self, org_id: str, person_id: str, changes: ProfileChanges) -> tuple[Person, list[str]]:
        values = self._values(changes)
        saved = await self._change(
            person_key(org_id, person_id), org_id, lambda person: person.revise(values, self.now())
        )
        return saved.aggregate, saved.result or []

    async def _change(self, key: str, org_id: str, change: Change[Person, R]) -> Saved[Person, R | None]:
        try:
            saved = await self.people.change(key, change, org_id=org_id)
        except EmailTaken as error:
            raise Conflict("email", "a profile with this email already exists in the org") from error
        except PersonErased as error:
            raise ProfileNotFound() from error
        except ConcurrentUpdate as error:
            raise Conflict("version", "the profile keeps changing; try again") from error
        if saved is None:
            raise ProfileNotFound()
        return saved

    def _values(self, changes: ProfileChanges) -> dict[str, Any]:
        """The stored form of the fields the request sent (skills matched against the taxonomy)."""
        sent = changes.model_fields_set - {"person_id"}
        values = changes.model_dump(include=sent)
        if changes.skills_offered is not None:
            pairs = [(skill.name, skill.level) for skill in changes.skills_offered]
            values["skills_offered"] = offered_skills(self.taxonomy, pairs)
        if changes.skills_wanted is not None:
            wanted = [(skill.name, skill.target_level) for skill in changes.skills_wanted]
            values["skills_wanted"] = wanted_skills(self.taxonomy, wanted)
        return values
