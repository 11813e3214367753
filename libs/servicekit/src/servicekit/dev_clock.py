"""`/dev/clock`: read and move the platform's shared clock (development and tests only).

The routes exist only when the service runs with `CLOCK=shared`, which the settings refuse without
the development switch; moving the clock also needs an admin token. Every service reads the same
offset, so moving it through any one service moves it for the whole platform (each service sees the
change within `CLOCK_REFRESH_SECONDS`: read `GET /dev/clock` on each to wait for it)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.clock import SharedClock

# Five years: a programme year many times over, and a bound on a typo.
MAX_ADVANCE_SECONDS = 5 * 366 * 24 * 3600


class ClockOut(BaseModel):
    now: datetime = Field(description="The platform's time as this service sees it now.")
    offset_seconds: float = Field(description="How far the platform's time is ahead of the system's.")


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(gt=0, le=MAX_ADVANCE_SECONDS, description="How far to move the time forward.")


def shared_clock_router(clock: SharedClock) -> APIRouter:
    router = APIRouter(prefix="/dev/clock", tags=["development"])

    def shown() -> ClockOut:
        return ClockOut(now=clock.now(), offset_seconds=clock.offset.total_seconds())

    @router.get("", response_model=ClockOut, summary="The shared platform clock (development only)")
    async def read_clock(principal: CurrentPrincipal) -> ClockOut:
        return shown()

    @router.post(
        "/advance",
        response_model=ClockOut,
        summary="Move the platform's time forward for every service (development only, admins)",
    )
    async def advance_clock(body: AdvanceIn, principal: CurrentPrincipal) -> ClockOut:
        forbid_unless(principal.is_admin, "move the platform clock")
        await clock.advance(body.seconds)
        return shown()

    return router
