"""The service's configurable rules, built from settings once and passed to the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from mentorship_schemas.events import Cadence

from sessions.domain.health import HealthPolicy


@dataclass(frozen=True)
class SessionsPolicy:
    first_session_after: timedelta = timedelta(days=7)  # the kick-off, after pairing
    duration: timedelta = timedelta(hours=1)
    grace: timedelta = timedelta(hours=1)  # after its end, an unattended session is missed
    horizon_sessions: int = 4  # cadence sessions kept scheduled ahead
    default_cadence: Cadence = Cadence.MONTHLY
    default_local_time: time = time(10, 0)
    health: HealthPolicy = field(default_factory=HealthPolicy)
