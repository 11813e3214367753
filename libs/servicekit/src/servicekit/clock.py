"""An injectable clock: domain code takes the time as a parameter, the shell asks a Clock.

Production runs on `SystemClock`. In development and tests (`CLOCK=shared`, accepted only with the
development switch `AUTH_ALLOW_DEV_HS256=true`) every service reads one `SharedClock`: the system
time plus an offset kept in one document of the platform database, which a developer or a test
moves forward, so sweeps, expiries, reminders, missed sessions and stagnation happen as they would
after that much time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)

SHARED_CLOCK_COLLECTION = "clock"
SHARED_CLOCK_ID = "platform"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


class SharedClock:
    """The system time plus the platform's offset (`{"_id": "platform", "offset_seconds": s}` in
    the `clock` collection of the platform database). `now()` must not wait on I/O, so the offset is
    cached and re-read every `refresh_seconds` by `run()`; it only ever moves forward in a process,
    and while the store is unreachable the last offset read stays in force."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], refresh_seconds: float = 1.0) -> None:
        self._collection = collection
        self._refresh_seconds = refresh_seconds
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    async def refresh(self) -> timedelta:
        document = await self._collection.find_one({"_id": SHARED_CLOCK_ID})
        stored = timedelta(seconds=float(document.get("offset_seconds", 0))) if document else timedelta(0)
        self._offset = max(self._offset, stored)
        return self._offset

    async def advance(self, seconds: float) -> datetime:
        """Move the platform's time forward by `seconds` (atomically, for every service)."""
        if seconds <= 0:
            raise ValueError("the platform clock only moves forward")
        await self._collection.update_one(
            {"_id": SHARED_CLOCK_ID}, {"$inc": {"offset_seconds": float(seconds)}}, upsert=True
        )
        await self.refresh()
        return self.now()

    async def run(self) -> None:
        """Re-read the offset for as long as the service runs."""
        while True:
            with contextlib.suppress(Exception):
                await self.refresh()
            await asyncio.sleep(self._refresh_seconds)
