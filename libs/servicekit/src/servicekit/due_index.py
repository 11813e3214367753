"""A due-date index split into one small collection per time partition (a UTC day by default).

Sweeps must read only what is due, and their cost must not grow with what is stored. On MongoDB an
index on `due_at` gives that; the local emulator ignores non-unique indexes (see `servicekit.mongo`)
and scans a collection for a range on `due_at`, so one big collection would cost the total. Here
each entry (`_id` = the key of the thing that falls due, `due_at`, plus a small payload) sits in the
collection of its partition: `<prefix>_<YYYYMMDD>`. A sweep lists the partitions whose start has
passed and scans only those; entries it has handled are removed, and an empty partition older than
`retention` is dropped, so the read set stays the entries that are due now.

Listing collections is itself a cost that grows with the number of partitions, so the list is
refreshed only every `relist_every`; in between, a sweep also looks at the few most recent
partitions by name (those that may have been created since the list was taken), and skips past
partitions it found empty.

The index is a hint, not the truth: a sweep re-checks the aggregate before acting (an entry whose
thing was rescheduled, held or cancelled is simply removed). Entries are written before the
aggregate that they point to, so a crash in between leaves a harmless orphan, never a lost due date.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.grouped import Grouped

Document = dict[str, Any]
_FORMAT = "%Y%m%d%H%M"


@dataclass(frozen=True)
class DueEntry:
    partition: str
    key: str
    due_at: datetime
    payload: Document


class TimePartitionedDueIndex:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        prefix: str,
        *,
        width: timedelta = timedelta(days=1),
        retention: timedelta = timedelta(days=2),
        relist_every: timedelta = timedelta(minutes=5),
    ) -> None:
        if width < timedelta(minutes=1) or width > timedelta(days=1) or timedelta(days=1) % width:
            raise ValueError("partition width must divide a day and be at least a minute")
        self._db = db
        self._prefix = f"{prefix}_"
        self._partitions: dict[str, Grouped] = {}  # each partition's writes, grouped in a consumer
        self._width = width
        self._retention = retention
        self._relist_seconds = relist_every.total_seconds()
        # Partitions that may have appeared since the last listing lie within this many of "now".
        self._recent = math.ceil(relist_every / width) + 2
        self._known: list[tuple[datetime, str]] = []
        self._listed_at: float | None = None
        self._listed_cutoff: datetime | None = None
        self._tidied_at: float | None = None
        self._drained: set[str] = set()

    # ------------------------------------------------------------------ partitions

    def partition_start(self, moment: datetime) -> datetime:
        moment = moment.astimezone(UTC)
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day + ((moment - day) // self._width) * self._width

    def partition_name(self, moment: datetime) -> str:
        return self._prefix + self.partition_start(moment).strftime(_FORMAT)

    def _start_of(self, name: str) -> datetime | None:
        try:
            return datetime.strptime(name.removeprefix(self._prefix), _FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None

    async def partitions(self) -> list[tuple[datetime, str]]:
        """Every partition collection of this index, oldest first."""
        names = await self._db.list_collection_names()
        found = [
            (start, name)
            for name in names
            if name.startswith(self._prefix) and (start := self._start_of(name)) is not None
        ]
        return sorted(found)

    # ------------------------------------------------------------------ writes

    async def put(self, key: str, due_at: datetime, payload: Document | None = None, *, now: datetime) -> str:
        """Record that `key` falls due at `due_at` (idempotent). An entry already due goes into the
        partition of `now`, so nothing is ever written into a partition a sweep may have dropped."""
        name = self.partition_name(max(due_at, now))
        partition = self._partitions.get(name) or self._partitions.setdefault(name, Grouped(self._db[name]))
        await partition.upsert({"_id": key}, {"$set": {"due_at": due_at, **(payload or {})}})
        return name

    async def remove(self, entry: DueEntry) -> None:
        await self._db[entry.partition].delete_one({"_id": entry.key})

    # ------------------------------------------------------------------ reads

    async def find_due(self, cutoff: datetime, limit: int) -> list[DueEntry]:
        """Entries due at or before `cutoff`, oldest partition first, at most `limit`.

        Reads only the partitions that started at or before `cutoff`; each is small by construction.
        """
        # Stale by the wall clock or by the sweep's own clock (which tests move by days at once).
        if (
            self._listed_at is None
            or self._listed_cutoff is None
            or time.monotonic() - self._listed_at > self._relist_seconds
            or (cutoff - self._listed_cutoff).total_seconds() > self._relist_seconds
        ):
            self._known = await self.partitions()
            self._listed_at = time.monotonic()
            self._listed_cutoff = cutoff
            self._drained.clear()
        candidates = {name: start for start, name in self._known if start <= cutoff}
        latest = self.partition_start(cutoff)
        for k in range(self._recent):
            start = latest - k * self._width
            candidates[self.partition_name(start)] = start
        due: list[DueEntry] = []
        for name, start in sorted(candidates.items(), key=lambda item: item[1]):
            if len(due) >= limit:
                break
            if name in self._drained:
                continue
            cursor = self._db[name].find(
                {"due_at": {"$lte": cutoff}}, sort=[("due_at", ASCENDING)], limit=limit - len(due)
            )
            found = 0
            async for document in cursor:
                key = document.pop("_id")
                due_at = document.pop("due_at")
                due.append(DueEntry(name, key, due_at, document))
                found += 1
            if not found and start + self._width <= cutoff:
                # Wholly in the past and empty: nothing new can land there (entries go into the
                # partition of their due time or of "now"), so skip it until the next listing.
                self._drained.add(name)
        return due

    async def tidy(self, now: datetime) -> int:
        """`drop_drained`, at most once per `relist_every` (for a sweep to call every round)."""
        if self._tidied_at is not None and time.monotonic() - self._tidied_at < self._relist_seconds:
            return 0
        self._tidied_at = time.monotonic()
        return await self.drop_drained(now)

    async def drop_drained(self, now: datetime) -> int:
        """Drop empty partitions that ended more than `retention` ago; returns how many. Lists the
        collections, so call it now and then, not on every sweep."""
        dropped = 0
        for start, name in await self.partitions():
            if start + self._width + self._retention > now:
                break
            if await self._db[name].find_one({}, {"_id": 1}) is None:
                await self._db.drop_collection(name)
                self._partitions.pop(name, None)
                dropped += 1
        return dropped
