"""The portal, as the simulation plays it: HTTP calls to the four services with development tokens
for each person, retried while a service, the broker or the store is down (an operator restarts it)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from servicekit.auth import issue_dev_token

log = logging.getLogger("simulation")
ADMIN = "admin-0001"
TRANSIENT = {500, 502, 503, 504}


@dataclass
class CallStats:
    calls: int = 0
    retried: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # "<method> <route> <status>" -> count


class Portal:
    """`call` answers (status, body); 4xx are the platform's answers to keep, 5xx and refused
    connections are retried for up to `patience` seconds."""

    def __init__(self, urls: dict[str, str], secret: str, org: str, patience: float = 120.0) -> None:
        self.urls = urls
        self.org = org
        self._secret = secret
        self._tokens: dict[str, tuple[str, float]] = {}
        self._http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16))
        self._patience = patience
        self.stats = CallStats()

    async def close(self) -> None:
        await self._http.aclose()

    def headers(self, person: str, admin: bool = False) -> dict[str, str]:
        key = f"{person}:{admin}"
        kept = self._tokens.get(key)
        # Renewed after an hour of real time (they live 12 h). Not "monotonic() - 0 > 3600" for a
        # first token: the monotonic clock counts from boot, so that held for an hour after it.
        if kept is None or time.monotonic() - kept[1] > 3600:
            roles = ["employee", "program_admin", "hr_admin"] if admin else ["employee"]
            kept = (issue_dev_token(self._secret, sub=person, org=self.org, roles=roles), time.monotonic())
            self._tokens[key] = kept
        return {"Authorization": f"Bearer {kept[0]}"}

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        person: str = ADMIN,
        admin: bool = False,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        url = self.urls[service] + path
        deadline = time.monotonic() + self._patience
        self.stats.calls += 1
        while True:
            try:
                response = await self._http.request(
                    method, url, json=json, params=params, headers=self.headers(person, admin)
                )
                if response.status_code not in TRANSIENT:
                    body = response.json() if response.content else None
                    if response.status_code >= 400:
                        route = f"{method} {service} {_route(path)} {response.status_code}"
                        self.stats.refused[route] = self.stats.refused.get(route, 0) + 1
                    return response.status_code, body
                problem = response.text[:200]
            except (httpx.TransportError, ValueError) as error:
                problem = repr(error)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {url} kept failing for {self._patience}s: {problem}")
            self.stats.retried += 1
            await asyncio.sleep(0.5)

    async def peek(self, service: str, path: str) -> Any:
        """One admin GET without retrying: None when the service does not answer now."""
        try:
            response = await self._http.get(self.urls[service] + path, headers=self.headers(ADMIN, True))
        except httpx.TransportError:
            return None
        return response.json() if response.status_code == 200 else None

    async def ok(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """A call that must succeed (2xx); anything else stops the simulation with the answer."""
        status, body = await self.call(service, method, path, **kwargs)
        if status >= 300:
            raise RuntimeError(f"{method} {service}{path} answered {status}: {body}")
        return body


def _route(path: str) -> str:
    """The route without ids, to count refusals per kind of call."""
    parts = [p for p in path.split("/") if p]
    shown = [p if p.isalpha() or p in ("action-items", "dev", "cohort-runs") else "{id}" for p in parts]
    return "/" + "/".join(shown)
