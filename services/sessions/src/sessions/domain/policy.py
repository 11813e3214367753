"""The service's configurable rules, built from settings once and passed to the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from mentorship_schemas.events import Cadence

from sessions.domain.health import HealthPolicy
from sessions.domain.working_hours import WorkingHours


@dataclass(frozen=True)
class SessionsPolicy:
    first_session_after: timedelta = timedelta(days=2)  # the kick-off, no sooner after pairing
    first_session_within: timedelta = timedelta(days=7)  # ... and no later
    kickoff_in_working_hours: bool = True  # False: exactly `first_session_after` (runs in seconds)
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    duration: timedelta = timedelta(hours=1)
    grace: timedelta = timedelta(hours=1)  # after its end, an unattended session is missed
    horizon_sessions: int = 4  # cadence sessions kept scheduled ahead
    default_cadence: Cadence = Cadence.MONTHLY
    default_local_time: time = time(10, 0)
    health: HealthPolicy = field(default_factory=HealthPolicy)
