"""Portal authentication: the portal signs a JWT per request; every service checks it the same way.

RS256 against a configured public key (PEM) or JWKS file; HS256 with a shared secret only when the
development flag is set. Claims: `sub` (employee id), `org` (tenant), `roles` (a non-empty list of
known roles), `exp`, `aud`, and `iss` when `AUTH_ISSUER` is set. A JWKS file is re-read when it
changes, so the portal rotates keys by `kid` without a restart. Missing, bad or incomplete tokens
are 401 (a token whose roles we do not know grants nothing, not "an employee"); a role that may not
act is 403 (raised by the routes).
"""

from __future__ import annotations

import re
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


# The same id form as the events' ids (mentorship_schemas.events.Id): a token's `sub` and `org`
# become ids in our documents and events, so they must be ids.
_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class _JwksFile:
    """The portal's JWKS file, re-read when it changes: a key added for a rotation is accepted
    without a restart, and a key removed from the file is refused from then on."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: tuple[int, int] | None = None
        self._keys: dict[str, Any] = {}

    def key(self, kid: str) -> Any:
        stat = self._path.stat()
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            keys = {}
            for jwk in jwt.PyJWKSet.from_json(self._path.read_text()).keys:
                if jwk.key_id:
                    keys[jwk.key_id] = jwk.key
            self._keys, self._seen = keys, (stat.st_mtime_ns, stat.st_size)
        return self._keys.get(kid)


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self._audience = settings.auth_audience
        self._issuer = settings.auth_issuer or None
        self._public_key: bytes | None = None
        self._jwks: _JwksFile | None = None
        self._hs256_secret: str | None = None
        if settings.auth_public_key_file:
            self._public_key = Path(settings.auth_public_key_file).read_bytes()  # PEM
        if settings.auth_jwks_file:
            self._jwks = _JwksFile(Path(settings.auth_jwks_file))
            self._jwks.key("")  # read it now: a missing or malformed file fails at start
        if settings.auth_allow_dev_hs256 and settings.auth_dev_hs256_secret:
            self._hs256_secret = settings.auth_dev_hs256_secret

    @property
    def configured(self) -> bool:
        return self._public_key is not None or self._jwks is not None or self._hs256_secret is not None

    def _rs256_key(self, kid: Any) -> Any:
        if isinstance(kid, str) and kid and self._jwks is not None:
            key = self._jwks.key(kid)
            if key is not None:
                return key
            raise AuthError(f"unknown signing key {kid!r}")
        if self._public_key is not None:
            return self._public_key
        raise AuthError("token names no known signing key (kid)")

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError(f"malformed token: {error}") from error
        algorithm = header.get("alg")
        key: Any
        if algorithm == "RS256" and (self._public_key is not None or self._jwks is not None):
            key = self._rs256_key(header.get("kid"))
        elif algorithm == "HS256" and self._hs256_secret is not None:
            key = self._hs256_secret
        else:
            raise AuthError(f"signing algorithm {algorithm!r} is not accepted")
        required = ["exp", "sub", "aud", *(["iss"] if self._issuer else [])]
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": required},
                leeway=30,
            )
        except jwt.PyJWTError as error:
            raise AuthError(str(error)) from error
        return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    """The caller the claims name; every claim we act on must be present and well-formed."""
    sub, org = claims.get("sub"), claims.get("org")
    if not isinstance(sub, str) or not _ID.match(sub):
        raise AuthError("sub claim is not a well-formed employee id")
    if not isinstance(org, str) or not _ID.match(org):
        raise AuthError("org claim is missing or not a well-formed tenant id")
    raw_roles = claims.get("roles")
    if not isinstance(raw_roles, list) or not raw_roles:
        raise AuthError("roles claim must be a non-empty list")
    unknown = [role for role in raw_roles if role not in Role._value2member_map_]
    if unknown:
        raise AuthError(f"roles claim has unknown role(s): {', '.join(map(repr, unknown))}")
    return Principal(employee_id=sub, org_id=org, roles=frozenset(Role(role) for role in raw_roles))


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
