"""Portal authentication: the portal signs a JWT per request; every service checks it the same way.

RS256 against a configured public key (PEM) or JWKS file; HS256 with a shared secret only when the
development flag is set. Claims: `sub` (employee id), `org` (tenant), `roles`, `exp`, `aud`.
Missing or bad tokens are 401; a role that may not act is 403 (raised by the routes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.problems import Problem
from servicekit.settings import ServiceSettings


class Role(StrEnum):
    EMPLOYEE = "employee"
    PROGRAM_ADMIN = "program_admin"
    HR_ADMIN = "hr_admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the portal vouched for them."""

    employee_id: str
    org_id: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return self.has(Role.PROGRAM_ADMIN, Role.HR_ADMIN)


class AuthError(Exception):
    pass


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self._audience = settings.auth_audience
        self._issuer = settings.auth_issuer
        self._keys: dict[str | None, Any] = {}
        self._hs256_secret: str | None = None
        if settings.auth_public_key_file:
            self._keys[None] = Path(settings.auth_public_key_file).read_bytes()  # PEM
        if settings.auth_jwks_file:
            jwks = jwt.PyJWKSet.from_json(Path(settings.auth_jwks_file).read_text())
            for key in jwks.keys:
                self._keys[key.key_id] = key.key
        if settings.auth_allow_dev_hs256 and settings.auth_dev_hs256_secret:
            self._hs256_secret = settings.auth_dev_hs256_secret

    @property
    def configured(self) -> bool:
        return bool(self._keys) or self._hs256_secret is not None

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError(f"malformed token: {error}") from error
        algorithm = header.get("alg")
        if algorithm == "RS256" and self._keys:
            key = self._keys.get(header.get("kid")) or self._keys.get(None)
            if key is None:
                raise AuthError("unknown signing key")
        elif algorithm == "HS256" and self._hs256_secret is not None:
            key = self._hs256_secret
        else:
            raise AuthError(f"signing algorithm {algorithm!r} is not accepted")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as error:
            raise AuthError(str(error)) from error
        org = claims.get("org")
        if not isinstance(org, str) or not org:
            raise AuthError("token has no org claim")
        raw_roles = claims.get("roles", [])
        if not isinstance(raw_roles, list):
            raise AuthError("roles claim must be a list")
        roles = frozenset(Role(r) for r in raw_roles if r in Role._value2member_map_)
        return Principal(employee_id=str(claims["sub"]), org_id=org, roles=roles)


def issue_dev_token(
    secret: str,
    *,
    sub: str,
    org: str,
    roles: list[str],
    audience: str = "mentorship-platform",
    ttl_seconds: int = 12 * 3600,
) -> str:
    """An HS256 token for development and tests (never accepted unless the dev flag is set)."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "org": org,
        "roles": roles,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


async def _current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="mentorship"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "Unauthorized", "a bearer token is required", headers=challenge)
    authenticator: Authenticator = request.app.state.authenticator
    try:
        return authenticator.verify(credentials.credentials)
    except AuthError as error:
        raise Problem(401, "Unauthorized", str(error), headers=challenge) from error


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


def forbid_unless(allowed: bool, action: str) -> None:
    if not allowed:
        raise Problem(403, "Forbidden", f"your roles do not allow you to {action}")
