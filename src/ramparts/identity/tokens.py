"""Signed access tokens (JWT, ES256) for client-credentials apps, and the Principal they stand for.

verify_token checks the signature before reading any claim, and every failure — forged, expired,
not yet valid, wrong audience or issuer, malformed — raises the same AuthError, so that a caller
learns nothing about why a token was refused.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from ramparts.errors import AuthError
from ramparts.identity.keys import ALGORITHM
from ramparts.identity.models import AppRegistration
from ramparts.identity.scopes import APP_KINDS, AppKind

ISSUER = "ramparts"
AUDIENCE = "ramparts"
INVALID_TOKEN = "invalid or expired access token"
CLOCK_SKEW = dt.timedelta(seconds=30)
"""Leeway for nbf and iat, for nodes whose clocks disagree a little; never applied to exp."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the app behind a verified token."""

    client_id: str
    kind: AppKind
    tenant_id: str | None
    vendor_id: str | None
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def issue_token(
    app: AppRegistration,
    *,
    key: ECKey,
    now: dt.datetime,
    lifetime: int | dt.timedelta,
    scopes: Sequence[str] | None = None,
) -> tuple[str, int]:
    """A signed access token for the app and its lifetime in seconds.

    `scopes` narrows the token to some of the app's scopes; by default it carries all of them."""
    seconds = int(lifetime.total_seconds()) if isinstance(lifetime, dt.timedelta) else int(lifetime)
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": app.client_id,
        "appid": app.client_id,
        "idtyp": "app",
        "kind": app.kind,
        "roles": sorted(set(app.scopes) if scopes is None else set(scopes) & set(app.scopes)),
        "iat": issued,
        "nbf": issued,
        "exp": issued + seconds,
        "jti": str(uuid.uuid4()),
    }
    if app.tenant_id:
        claims["tid"] = app.tenant_id
    if app.vendor_id:
        claims["vid"] = app.vendor_id
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": key.kid or key.thumbprint()}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM]), seconds


def _optional_str(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(name)
    return value


def _principal(claims: dict[str, Any], now: dt.datetime) -> Principal:
    instant = now.timestamp()
    skew = CLOCK_SKEW.total_seconds()
    if claims.get("iss") != ISSUER:
        raise ValueError("iss")
    audience = claims.get("aud")
    if audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience):
        raise ValueError("aud")
    exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not isinstance(exp, int) or isinstance(exp, bool) or instant >= exp:
        raise ValueError("exp")
    if not isinstance(nbf, int) or isinstance(nbf, bool) or instant + skew < nbf:
        raise ValueError("nbf")
    client_id, kind, roles = claims.get("sub"), claims.get("kind"), claims.get("roles")
    if not isinstance(client_id, str) or not client_id or kind not in APP_KINDS:
        raise ValueError("sub")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError("roles")
    return Principal(
        client_id=client_id,
        kind=kind,
        tenant_id=_optional_str(claims, "tid"),
        vendor_id=_optional_str(claims, "vid"),
        scopes=frozenset(roles),
    )


def verify_token(token: str, *, key: ECKey, now: dt.datetime) -> Principal:
    """The principal of a valid token; AuthError, always with the same message, otherwise."""
    return _checked(_verified_claims(token, key), now)


def _verified_claims(token: str, key: ECKey) -> dict[str, Any]:
    try:
        return dict(jwt.decode(token, key, algorithms=[ALGORITHM]).claims)  # verifies the signature first
    except (JoseError, ValueError, TypeError, KeyError, UnicodeError) as exc:
        raise AuthError(INVALID_TOKEN) from exc


class VerifiedTokens:
    """The claims of tokens whose signature checked out, so that a client calling many times with one
    token pays for the ECDSA verification (~0.2 ms) once. Keyed by the whole token and tied to one
    signing key; the time claims (exp, nbf) are checked again at every use, and an app's revocation is
    checked by the caller (api.auth) as before. Bounded: the oldest entries go first."""

    def __init__(self, key: ECKey, size: int = 4096) -> None:
        self.key = key
        self.size = size
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str, now: dt.datetime) -> Principal:
        with self._lock:
            claims = self._claims.get(token)
        if claims is None:
            claims = _verified_claims(token, self.key)
            found = _checked(claims, now)
            with self._lock:
                self._claims[token] = claims
                while len(self._claims) > self.size:
                    self._claims.popitem(last=False)
            return found
        return _checked(claims, now)


def _checked(claims: dict[str, Any], now: dt.datetime) -> Principal:
    try:
        return _principal(claims, now)
    except (ValueError, TypeError, KeyError) as exc:
        raise AuthError(INVALID_TOKEN) from exc
