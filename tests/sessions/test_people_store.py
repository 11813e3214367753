"""Sessions' copy of the people, against the real store: within a consumer batch its reads and
writes join groups (`servicekit.grouped`), and concurrent profile events of one person still leave
the newest version, never one over a tombstone."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pymongo import AsyncMongoClient
from servicekit.grouped import grouping
from sessions.domain.people import Person
from sessions.store import PEOPLE, MongoPeople


def _version(version: int, timezone: str = "Europe/Paris") -> Person:
    return Person(
        org_id="acme",
        person_id="ada",
        display_name=f"Ada v{version}",
        email="ada@example.com",
        timezone=timezone,
        modalities=("video",),
        profile_version=version,
    )


async def test_concurrent_versions_in_one_batch_leave_the_newest_and_a_tombstone_stays(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo[f"test_sessions_people_{uuid.uuid4().hex[:8]}"]
    people = MongoPeople(database[PEOPLE])
    try:
        with grouping():
            kept = await asyncio.gather(*(people.keep(_version(v)) for v in (3, 1, 5, 2, 4)))
        assert kept[2]  # version 5 was stored, whatever came first
        assert (await people.of("acme", ["ada"]))["ada"] == _version(5)

        with grouping():
            assert not await people.keep(_version(4, timezone="Asia/Tokyo"))  # older: ignored
            assert await people.keep(_version(6, timezone="Asia/Tokyo"))
        assert (await people.of("acme", ["ada"]))["ada"] == _version(6, timezone="Asia/Tokyo")

        with grouping():
            erased, _ = await asyncio.gather(
                people.keep(Person.tombstone("acme", "ada")), people.keep(_version(7))
            )
            assert erased
            assert not await people.keep(_version(8))  # never over a tombstone
        (copy,) = (await people.of("acme", ["ada"])).values()  # under the pseudonym it keeps
        assert copy.erased
        assert (copy.display_name, copy.email, copy.timezone) == (None, None, None)
        assert await database[PEOPLE].count_documents({}) == 1
    finally:
        await mongo.drop_database(database.name)
