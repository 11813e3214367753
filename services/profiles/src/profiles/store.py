"""Profiles' MongoDB collection `people` (one document per person, with its outbox): its indexes, and
the people store: the aggregate store plus the admin search, the unique email and erasure's cleanup."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from servicekit.aggregates import AggregateStore, BeforeWrite, Change, Saved

from profiles.domain.person import Person, ProfileStatus
from profiles.use_cases import EmailTaken, ProfileQuery, SearchPage

log = logging.getLogger(__name__)

PEOPLE = "people"
# Who was erased, as a keyed hash of (org, employee id) only: an erased person cannot be imported
# again, and no store keeps their id (see `PeopleStore.seal_erasures`).
ERASED = "erased_people"

Document = dict[str, Any]
R = TypeVar("R")


async def create_indexes(people: AsyncCollection[Document]) -> None:
    await people.create_index(
        [("org_id", ASCENDING), ("email", ASCENDING)], unique=True, name="org_email_unique"
    )
    await people.create_index([("org_id", ASCENDING), ("person_id", ASCENDING)], name="org_person")


def search_filter(org_id: str, query: ProfileQuery) -> Document:
    """The store query for an admin search (erased people never show)."""
    found: Document = {"org_id": org_id, "status": {"$ne": ProfileStatus.ERASED.value}}
    if query.role:
        found["roles"] = query.role.value
    if query.skill:
        found["skill_names"] = query.skill
    if query.department:
        found["department"] = query.department
    if query.level:
        found["level"] = query.level.value
    if query.availability:
        found["availability"] = query.availability.value
    if query.text:
        found["search_text"] = {"$regex": re.escape(query.text.lower())}
    return found


class PeopleStore(AggregateStore[Person]):
    """The only writer of `people`. A stored document that cannot be read as a Person is logged
    and skipped (or loaded with defaults for its broken fields), never a failure for the org."""

    async def get(self, aggregate_id: str, org_id: str | None = None) -> Person | None:
        document = await self.collection.find_one({"_id": aggregate_id})
        if document is None or (org_id is not None and document.get("org_id") != org_id):
            return None
        return self._loaded(document)

    def _loaded(self, document: Document) -> Person | None:
        return _readable(document)

    async def change(
        self,
        aggregate_id: str,
        change: Change[Person, R],
        *,
        org_id: str | None = None,
        before_write: BeforeWrite[Person] | None = None,
    ) -> Saved[Person, R | None] | None:
        try:
            return await super().change(aggregate_id, change, org_id=org_id, before_write=before_write)
        except DuplicateKeyError as error:  # the only unique index besides _id: (org_id, email)
            raise EmailTaken(aggregate_id) from error

    async def search(self, org_id: str, query: ProfileQuery, *, skip: int, limit: int) -> SearchPage:
        found = search_filter(org_id, query)
        total = await self.collection.count_documents(found)
        cursor = self.collection.find(found, sort=[("person_id", ASCENDING)], skip=skip, limit=limit)
        people = [person async for document in cursor if (person := _readable(document)) is not None]
        return SearchPage(total=total, people=people)

    async def discard_unsent(self, aggregate_id: str, keep: Sequence[str]) -> None:
        await self.collection.update_one(
            {"_id": aggregate_id}, {"$pull": {"outbox": {"id": {"$nin": list(keep)}}}}
        )

    @property
    def _erased(self) -> AsyncCollection[Document]:
        return self.collection.database[ERASED]

    async def erased_before(self, org_id: str, person_id: str) -> bool:
        return await self._erased.find_one({"_id": erased_mark(org_id, person_id)}, {"_id": 1}) is not None

    async def seal_erasures(self, limit: int = 500) -> int:
        """Tombstones whose events are published (ProfileErased carries the id to the other services)
        give way to a mark that keeps no id; returns how many were sealed."""
        query = {"status": ProfileStatus.ERASED.value, "outbox_pending": {"$ne": True}}
        sealed = 0
        async for tombstone in self.collection.find(query, {"org_id": 1, "person_id": 1}, limit=limit):
            mark = erased_mark(tombstone["org_id"], tombstone["person_id"])
            await self._erased.update_one(
                {"_id": mark}, {"$setOnInsert": {"org_id": tombstone["org_id"]}}, upsert=True
            )
            deleted = await self.collection.delete_one({"_id": tombstone["_id"], **query})
            sealed += deleted.deleted_count
        return sealed


def erased_mark(org_id: str, person_id: str) -> str:
    return hashlib.sha256(f"{org_id}\x1f{person_id}".encode()).hexdigest()


def _readable(document: Document) -> Person | None:
    try:
        person = Person.model_validate(document)
    except ValidationError as error:
        fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        log.error("profile %s is unreadable (fields %s); skipped", document.get("_id"), fields)
        return None
    if person.repaired_fields:
        log.warning(
            "profile %s has unusable %s; read with defaults (the next change stores them)",
            document.get("_id"),
            ", ".join(person.repaired_fields),
        )
    return person
