"""The simulated portal's tokens: the first one is issued whatever the machine's uptime (the
monotonic clock counts from boot, and within an hour of it the simulation once sent "Bearer " with
nothing after it), and one is reused until it is an hour old."""

from __future__ import annotations

import jwt
import pytest

from simulation import client
from simulation.client import Portal

pytestmark = pytest.mark.fast
SECRET = "simulation-test-secret-0123456789-abcdef"


def _claims(header: str) -> dict[str, object]:
    scheme, token = header.split(" ")
    assert scheme == "Bearer"
    return dict(jwt.decode(token, SECRET, algorithms=["HS256"], audience="mentorship-platform"))


@pytest.mark.parametrize("uptime", [5.0, 3_599.0, 90_000.0])
async def test_a_token_is_issued_on_first_use_and_renewed_after_an_hour(
    uptime: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [uptime]
    monkeypatch.setattr(client.time, "monotonic", lambda: now[0])
    portal = Portal({}, SECRET, org="acme")
    try:
        first = portal.headers("ada", admin=True)["Authorization"]
        claims = _claims(first)
        assert (claims["sub"], claims["org"]) == ("ada", "acme")
        assert "program_admin" in claims["roles"]  # type: ignore[operator]
        now[0] += 1_800
        assert portal.headers("ada", admin=True)["Authorization"] == first
        assert _claims(portal.headers("bob")["Authorization"])["sub"] == "bob"  # each person their own
        now[0] += 1_801
        assert _claims(portal.headers("ada", admin=True)["Authorization"])["sub"] == "ada"  # renewed
    finally:
        await portal.close()
