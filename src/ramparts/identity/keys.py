"""The ES256 key that signs access tokens: generated once, stored in the signing_keys table.

Choice: the key lives in the control-plane database rather than a file in data_dir, so that the nodes
of a scale-out deployment, which share PostgreSQL but not a disk, all sign and verify alike. The
embedded SQLite file sits inside data_dir, so the key is as private as the app secrets' hashes.
"""

from __future__ import annotations

from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from ramparts.identity.models import SigningKey

ALGORITHM = "ES256"


def _oldest(session: Session) -> SigningKey | None:
    return session.scalar(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid).limit(1))


def load_signing_key(session: Session) -> ECKey:
    """The first signing key ever stored, made and committed on first use.

    Two nodes starting at once may each store one; both then read back the oldest and agree."""
    row = _oldest(session)
    if row is None:
        key = ECKey.generate_key("P-256", private=True)
        kid = key.thumbprint()
        session.add(SigningKey(kid=kid, algorithm=ALGORITHM, private_jwk={**key.as_dict(private=True), "kid": kid}))
        session.commit()
        row = _oldest(session)
        assert row is not None
    return ECKey.import_key(dict(row.private_jwk))
