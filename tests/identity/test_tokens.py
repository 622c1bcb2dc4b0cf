from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey
from sqlalchemy.orm import Session

from ramparts.errors import AuthError
from ramparts.identity import (
    THREAT_HUNTING_READ,
    VERDICT_SUBMIT,
    Principal,
    issue_token,
    load_signing_key,
    verify_token,
)
from ramparts.identity.models import AppRegistration
from ramparts.identity.tokens import INVALID_TOKEN, VerifiedTokens
from tests.identity.support import START

KEY = ECKey.generate_key("P-256", private=True)


def _app(**overrides: object) -> AppRegistration:
    values: dict[str, object] = {
        "client_id": "11111111-1111-1111-1111-111111111111",
        "name": "siem",
        "kind": "tenant_app",
        "tenant_id": "tenant-a",
        "scopes": [THREAT_HUNTING_READ],
        "secret_hash": "unused",
    }
    values.update(overrides)
    return AppRegistration(**values)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_token_round_trip_carries_the_app() -> None:
    token, expires_in = issue_token(_app(), key=KEY, now=START, lifetime=3600)
    assert expires_in == 3600
    claims = jwt.decode(token, KEY, algorithms=["ES256"]).claims
    assert claims["aud"] == "ramparts"
    assert claims["iss"] == "ramparts"
    assert claims["sub"] == claims["appid"] == "11111111-1111-1111-1111-111111111111"
    assert claims["tid"] == "tenant-a"
    assert "vid" not in claims
    assert claims["roles"] == [THREAT_HUNTING_READ]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"]
    assert claims["jti"]
    assert verify_token(token, key=KEY, now=START + dt.timedelta(minutes=59)) == Principal(
        client_id="11111111-1111-1111-1111-111111111111",
        kind="tenant_app",
        tenant_id="tenant-a",
        vendor_id=None,
        scopes=frozenset({THREAT_HUNTING_READ}),
    )


def test_vendor_token_has_vendor_and_no_tenant() -> None:
    app = _app(kind="vendor", tenant_id=None, vendor_id="acme", scopes=[VERDICT_SUBMIT])
    token, _ = issue_token(app, key=KEY, now=START, lifetime=dt.timedelta(minutes=5))
    principal = verify_token(token, key=KEY, now=START)
    assert (principal.kind, principal.tenant_id, principal.vendor_id) == ("vendor", None, "acme")
    assert principal.has(VERDICT_SUBMIT)
    assert not principal.has(THREAT_HUNTING_READ)


def test_token_scopes_can_be_narrowed_but_not_widened() -> None:
    app = _app(scopes=[THREAT_HUNTING_READ, "SecurityAnalyzedMessage.Read.All"])
    token, _ = issue_token(app, key=KEY, now=START, lifetime=60, scopes=[THREAT_HUNTING_READ, "Ramparts.Admin"])
    assert verify_token(token, key=KEY, now=START).scopes == {THREAT_HUNTING_READ}


def _forged_tokens() -> dict[str, str]:
    good, _ = issue_token(_app(), key=KEY, now=START, lifetime=3600)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    other_key = ECKey.generate_key("P-256", private=True)
    tokens = {
        "expired": issue_token(_app(), key=KEY, now=START - dt.timedelta(hours=2), lifetime=3600)[0],
        "not yet valid": issue_token(_app(), key=KEY, now=START + dt.timedelta(hours=1), lifetime=3600)[0],
        "other key": issue_token(_app(), key=other_key, now=START, lifetime=3600)[0],
        "wrong audience": jwt.encode({"alg": "ES256"}, {**claims, "aud": "graph"}, KEY),
        "wrong issuer": jwt.encode({"alg": "ES256"}, {**claims, "iss": "evil"}, KEY),
        "no roles": jwt.encode({"alg": "ES256"}, {k: v for k, v in claims.items() if k != "roles"}, KEY),
        "tampered payload": f"{header}.{_b64({**claims, 'tid': 'tenant-b'})}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "hmac": jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(b"k" * 32)),
        "malformed": "not-a-jwt",
        "empty": "",
        "two parts": f"{header}.{payload}",
        "garbage base64": "@@@.###.$$$",
    }
    return tokens


@pytest.mark.parametrize("case", list(_forged_tokens()))
def test_every_bad_token_fails_alike(case: str) -> None:
    token = _forged_tokens()[case]
    with pytest.raises(AuthError) as caught:
        verify_token(token, key=KEY, now=START)
    assert str(caught.value) == INVALID_TOKEN


def test_expiry_is_exact() -> None:
    token, _ = issue_token(_app(), key=KEY, now=START, lifetime=60)
    verify_token(token, key=KEY, now=START + dt.timedelta(seconds=59))
    with pytest.raises(AuthError):
        verify_token(token, key=KEY, now=START + dt.timedelta(seconds=60))


def test_signing_key_is_made_once_and_kept(session: Session) -> None:
    first = load_signing_key(session)
    second = load_signing_key(session)
    assert first.thumbprint() == second.thumbprint()
    assert first.kid == first.thumbprint()
    assert first.is_private


def test_verified_tokens_remember_the_signature_but_check_time_at_each_use() -> None:
    tokens = VerifiedTokens(KEY, size=2)
    token, _ = issue_token(_app(), key=KEY, now=START, lifetime=60)
    assert tokens.verify(token, START).client_id == "11111111-1111-1111-1111-111111111111"
    assert tokens.verify(token, START + dt.timedelta(seconds=30)).tenant_id == "tenant-a"
    with pytest.raises(AuthError, match=INVALID_TOKEN):  # the cached token has expired since
        tokens.verify(token, START + dt.timedelta(seconds=61))
    other = VerifiedTokens(ECKey.generate_key("P-256", private=True))
    with pytest.raises(AuthError, match=INVALID_TOKEN):  # a cache is tied to its signing key
        other.verify(token, START)
    header, _payload, signature = token.split(".")
    with pytest.raises(AuthError, match=INVALID_TOKEN):  # a forged payload never reaches the cache
        tokens.verify(f"{header}.{_b64({'sub': 'x'})}.{signature}", START)
    for _ in range(3):  # bounded: older tokens are verified again after eviction, still correctly
        fresh, _ = issue_token(_app(), key=KEY, now=START, lifetime=60)
        tokens.verify(fresh, START)
    assert tokens.verify(token, START).scopes == {THREAT_HUNTING_READ}
