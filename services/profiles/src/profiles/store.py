"""Profiles' MongoDB collections: `people` (one document per person, with its outbox)."""

from __future__ import annotations

from typing import Any

from mentorship_schemas.events import PersonRole
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from profiles.domain.availability import MentorLoad

Document = dict[str, Any]


def person_key(org_id: str, person_id: str) -> str:
    return f"{org_id}:{person_id}"


async def create_indexes(people: AsyncCollection[Document]) -> None:
    await people.create_index(
        [("org_id", ASCENDING), ("email", ASCENDING)], unique=True, name="org_email_unique"
    )
    await people.create_index([("org_id", ASCENDING), ("person_id", ASCENDING)], name="org_person")


def mentor_load(document: dict[str, Any]) -> MentorLoad:
    return MentorLoad(
        is_mentor=PersonRole.MENTOR in document["roles"],
        accepting=document["accepting_mentees"],
        capacity=document["mentor_capacity"],
        active_mentees=len(document.get("active_pair_ids", [])),
    )
