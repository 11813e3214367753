"""Portal token checks: RS256 with a public key or JWKS (rotated by kid), HS256 only in development;
every claim we act on present and well-formed, or 401."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from servicekit.auth import Authenticator, AuthError, CurrentPrincipal, Role, issue_dev_token
from servicekit.problems import install_problem_handlers
from servicekit.settings import ServiceSettings

pytestmark = pytest.mark.fast

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEXT = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "e1",
        "org": "acme",
        "roles": ["employee"],
        "aud": "mentorship-platform",
        "exp": now + 600,
        **overrides,
    }


def _rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey = PRIVATE, kid: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} if kid else None)


@pytest.fixture
def pem_authenticator(tmp_path: Path) -> Authenticator:
    pem = PRIVATE.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "portal.pem").write_bytes(pem)
    return Authenticator(ServiceSettings(auth_public_key_file=str(tmp_path / "portal.pem")))


def test_valid_rs256_token_yields_the_principal(pem_authenticator: Authenticator) -> None:
    principal = pem_authenticator.verify(_rs256(_claims(roles=["employee", "program_admin"])))
    assert principal.employee_id == "e1"
    assert principal.org_id == "acme"
    assert principal.roles == frozenset({Role.EMPLOYEE, Role.PROGRAM_ADMIN})
    assert principal.is_admin


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (_rs256(_claims(exp=int(time.time()) - 3600)), "expired"),
        (_rs256(_claims(aud="another-app")), "(?i)audience"),
        (_rs256(_claims(), key=OTHER), "Signature"),
        (_rs256({k: v for k, v in _claims().items() if k != "org"}), "org"),
        (_rs256({k: v for k, v in _claims().items() if k != "roles"}), "roles"),
        (_rs256(_claims(roles=[])), "roles"),
        (_rs256(_claims(roles=["bogus"])), "unknown role"),
        (_rs256(_claims(roles=["employee", "superuser"])), "unknown role"),
        (_rs256(_claims(roles="employee")), "roles"),
        (_rs256(_claims(roles=[None])), "unknown role"),
        (_rs256(_claims(sub="")), "sub"),
        (_rs256(_claims(sub="e1\u0000")), "sub"),
        (_rs256(_claims(sub="a b")), "sub"),
        (_rs256(_claims(sub="x" * 129)), "sub"),
        (_rs256(_claims(sub=42)), "(?i)subject|sub"),
        (_rs256(_claims(org="")), "org"),
        (_rs256(_claims(org=["acme"])), "org"),
        (_rs256(_claims(org="acme/../other")), "org"),
        (
            issue_dev_token("a-development-secret-of-32-bytes!", sub="e1", org="acme", roles=["hr_admin"]),
            "not accepted",
        ),
        ("not-a-jwt", "malformed"),
    ],
)
def test_bad_tokens_are_rejected(pem_authenticator: Authenticator, token: str, reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        pem_authenticator.verify(token)


def _write_jwks(path: Path, keys: dict[str, rsa.RSAPrivateKey]) -> None:
    jwks = {
        "keys": [
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256"}
            for kid, key in keys.items()
        ]
    }
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(jwks))
    os.replace(staged, path)  # as a deployment swaps the file: readers see old or new, never half


def test_jwks_file_selects_the_key_by_kid(tmp_path: Path) -> None:
    _write_jwks(tmp_path / "jwks.json", {"k1": PRIVATE, "k2": OTHER})
    authenticator = Authenticator(ServiceSettings(auth_jwks_file=str(tmp_path / "jwks.json")))
    assert authenticator.verify(_rs256(_claims(), kid="k1")).org_id == "acme"
    assert authenticator.verify(_rs256(_claims(), key=OTHER, kid="k2")).org_id == "acme"
    with pytest.raises(AuthError, match="Signature"):
        authenticator.verify(_rs256(_claims(), key=OTHER, kid="k1"))  # a kid does not pick any key
    with pytest.raises(AuthError, match="no known signing key"):
        authenticator.verify(_rs256(_claims()))  # no kid


def test_jwks_rotation_accepts_the_new_key_and_refuses_unknown_and_removed_ones(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, {"2024-old": PRIVATE})
    authenticator = Authenticator(ServiceSettings(auth_jwks_file=str(jwks)))
    old_token = _rs256(_claims(), kid="2024-old")
    new_token = _rs256(_claims(sub="e2"), key=NEXT, kid="2025-new")
    assert authenticator.verify(old_token).employee_id == "e1"
    with pytest.raises(AuthError, match="unknown signing key '2025-new'"):
        authenticator.verify(new_token)  # not published yet

    # The portal publishes the next key beside the current one, then signs with it.
    _write_jwks(jwks, {"2024-old": PRIVATE, "2025-new": NEXT})
    assert authenticator.verify(new_token).employee_id == "e2"
    assert authenticator.verify(old_token).employee_id == "e1"
    with pytest.raises(AuthError, match="unknown signing key 'never-published'"):
        authenticator.verify(_rs256(_claims(), key=NEXT, kid="never-published"))

    # Then it retires the old key: tokens signed by it are refused from then on, without a restart.
    _write_jwks(jwks, {"2025-new": NEXT})
    with pytest.raises(AuthError, match="unknown signing key '2024-old'"):
        authenticator.verify(old_token)
    assert authenticator.verify(new_token).employee_id == "e2"


def test_issuer_is_required_and_checked_when_configured(
    pem_authenticator: Authenticator, tmp_path: Path
) -> None:
    assert pem_authenticator.verify(_rs256(_claims(iss="anyone"))).org_id == "acme"  # not configured
    strict = Authenticator(
        ServiceSettings(
            auth_public_key_file=str(tmp_path / "portal.pem"), auth_issuer="https://portal.example"
        )
    )
    assert strict.verify(_rs256(_claims(iss="https://portal.example"))).org_id == "acme"
    with pytest.raises(AuthError, match=r"(?i)iss"):
        strict.verify(_rs256(_claims()))
    with pytest.raises(AuthError, match=r"(?i)issuer"):
        strict.verify(_rs256(_claims(iss="https://evil.example")))


@pytest.mark.parametrize(
    "claims",
    [
        {k: v for k, v in _claims().items() if k != "roles"},
        _claims(roles=[]),
        _claims(roles=["visitor"]),
        _claims(sub="a\nb"),
    ],
    ids=["no-roles", "empty-roles", "unknown-role", "control-char-sub"],
)
async def test_a_route_answers_401_problem_json_to_a_token_missing_what_it_acts_on(
    pem_authenticator: Authenticator, claims: dict[str, Any]
) -> None:
    app = FastAPI()
    app.state.authenticator = pem_authenticator
    install_problem_handlers(app)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"employee_id": principal.employee_id}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        refused = await client.get("/me", headers={"Authorization": f"Bearer {_rs256(claims)}"})
        accepted = await client.get("/me", headers={"Authorization": f"Bearer {_rs256(_claims())}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "employee_id" not in refused.json()
    assert accepted.json() == {"employee_id": "e1"}


def test_hs256_needs_the_development_flag() -> None:
    token = issue_dev_token("a-development-secret-of-32-bytes!", sub="e1", org="acme", roles=["employee"])
    without_flag = Authenticator(ServiceSettings(auth_dev_hs256_secret="a-development-secret-of-32-bytes!"))
    with pytest.raises(AuthError):
        without_flag.verify(token)
    with_flag = Authenticator(
        ServiceSettings(auth_dev_hs256_secret="a-development-secret-of-32-bytes!", auth_allow_dev_hs256=True)
    )
    assert with_flag.verify(token).employee_id == "e1"
