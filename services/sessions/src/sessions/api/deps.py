"""The routes' two dependencies: the service's use-case context and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from servicekit.auth import CurrentPrincipal

from sessions.use_cases import Actor, SessionsContext


async def _context(request: Request) -> SessionsContext:
    context: SessionsContext = request.app.state.sessions  # set once by `api.install`
    return context


async def _actor(principal: CurrentPrincipal) -> Actor:
    return Actor(person_id=principal.employee_id, org_id=principal.org_id, is_admin=principal.is_admin)


Sessions = Annotated[SessionsContext, Depends(_context)]
CurrentActor = Annotated[Actor, Depends(_actor)]
