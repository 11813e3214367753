"""Portal token checks: RS256 with a public key or JWKS, HS256 only in development."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from servicekit.auth import Authenticator, AuthError, Role, issue_dev_token
from servicekit.settings import ServiceSettings

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


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
    principal = pem_authenticator.verify(_rs256(_claims(roles=["employee", "program_admin", "bogus"])))
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


def test_jwks_file_selects_the_key_by_kid(tmp_path: Path) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PRIVATE.public_key()))
    (tmp_path / "jwks.json").write_text(
        json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    )
    authenticator = Authenticator(ServiceSettings(auth_jwks_file=str(tmp_path / "jwks.json")))
    assert authenticator.verify(_rs256(_claims(), kid="k1")).org_id == "acme"


def test_hs256_needs_the_development_flag() -> None:
    token = issue_dev_token("a-development-secret-of-32-bytes!", sub="e1", org="acme", roles=["employee"])
    without_flag = Authenticator(ServiceSettings(auth_dev_hs256_secret="a-development-secret-of-32-bytes!"))
    with pytest.raises(AuthError):
        without_flag.verify(token)
    with_flag = Authenticator(
        ServiceSettings(auth_dev_hs256_secret="a-development-secret-of-32-bytes!", auth_allow_dev_hs256=True)
    )
    assert with_flag.verify(token).employee_id == "e1"
