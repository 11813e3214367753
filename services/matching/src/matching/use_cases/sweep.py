"""The time-driven sweep: requests past their deadline, then pairs past their end date (and erased
seats sealed once their events are out)."""

from __future__ import annotations

from datetime import datetime

from matching.use_cases.context import Matching
from matching.use_cases.pairs import end_pairs_at_end_date
from matching.use_cases.requests import expire_requests


async def sweep(m: Matching, now: datetime) -> int:
    """Returns how many requests expired and pairs ended; seals erased seats on the way."""
    await m.forgetting.seal_erased_seats()
    return await expire_requests(m, now) + await end_pairs_at_end_date(m, now)
