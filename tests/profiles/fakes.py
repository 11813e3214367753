"""In-memory twins of profiles' ports, for use-case tests without a server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from profiles.domain.person import Person
from profiles.domain.profile import DEFAULT_TAXONOMY, Taxonomy
from profiles.use_cases import EmailTaken, ProfileQuery, Profiles, SearchPage
from servicekit.aggregates import BeforeWrite, Change, Emitted, InMemoryAggregates, Saved

R = TypeVar("R")


class InMemoryPeople(InMemoryAggregates[Person]):
    """The people store in a dict, with the store's unique (org, email) rule and a plain search."""

    def __init__(self) -> None:
        super().__init__(Person)
        self.discarded_except: list[list[str]] = []
        self.sealed: set[tuple[str, str]] = set()

    def _email_taken(self, person: Person) -> bool:
        return any(
            key != person.id and doc["org_id"] == person.org_id and doc["email"] == person.email
            for key, doc in self.documents.items()
        )

    async def create(
        self,
        aggregate: Person,
        emitted: Iterable[Emitted] = (),
        *,
        before_write: BeforeWrite[Person] | None = None,
    ) -> bool:
        if self._email_taken(aggregate):
            return False
        return await super().create(aggregate, emitted, before_write=before_write)

    async def change(
        self,
        aggregate_id: str,
        change: Change[Person, R],
        *,
        org_id: str | None = None,
        before_write: BeforeWrite[Person] | None = None,
    ) -> Saved[Person, R | None] | None:
        def checked(person: Person) -> Any:
            returned = change(person)
            if self._email_taken(person):
                raise EmailTaken(person.email)
            return returned

        return await super().change(aggregate_id, checked, org_id=org_id, before_write=before_write)

    async def search(self, org_id: str, query: ProfileQuery, *, skip: int, limit: int) -> SearchPage:
        people = sorted(
            (Person.model_validate(doc) for doc in self.documents.values() if doc["org_id"] == org_id),
            key=lambda person: person.person_id,
        )
        found = [
            person
            for person in people
            if not person.is_erased
            and (query.role is None or query.role in person.roles)
            and (query.skill is None or query.skill in person.skill_names)
            and (query.department is None or query.department == person.department)
            and (query.level is None or query.level is person.level)
            and (query.availability is None or query.availability is person.availability)
            and (query.text is None or query.text.lower() in person.search_text)
        ]
        return SearchPage(total=len(found), people=found[skip : skip + limit])

    async def discard_unsent(self, aggregate_id: str, keep: Sequence[str]) -> None:
        self.discarded_except.append(list(keep))

    async def erased_before(self, org_id: str, person_id: str) -> bool:
        return (org_id, person_id) in self.sealed

    async def seal_erasures(self, limit: int = 500) -> int:
        """Here every event counts as published at once: seal every tombstone."""
        erased = [key for key, doc in self.documents.items() if doc.get("status") == "erased"]
        for key in erased:
            document = self.documents.pop(key)
            self.sealed.add((document["org_id"], document["person_id"]))
        return len(erased)


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def profiles_on_memory() -> tuple[Profiles, InMemoryPeople, FakeClock]:
    people = InMemoryPeople()
    clock = FakeClock()
    return Profiles(people, Taxonomy(DEFAULT_TAXONOMY), clock.now), people, clock
