"""Control-plane tables of identity: registered apps and the token signing key."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ramparts.store.base import Base, new_id, utcnow


class AppRegistration(Base):
    """An OAuth2 client (client-credentials grant). Only argon2id hashes of its secrets are stored."""

    __tablename__ = "app_registrations"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    """tenant_app, vendor or admin (see identity.scopes.AppKind)."""
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True, default=None
    )
    """Set for tenant apps; vendor and admin apps serve many tenants."""
    vendor_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    secret_hash: Mapped[str] = mapped_column(String(200))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class SigningKey(Base):
    """The private key that signs access tokens, kept in the control plane so that every node of a
    scale-out deployment (sharing PostgreSQL) signs and verifies with the same key."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    """RFC 7638 thumbprint of the public key."""
    algorithm: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
