"""Control-plane tables of the vendor registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ramparts.store.base import Base, new_id, utcnow

ACTIVE = "active"
SUSPENDED = "suspended"


class Vendor(Base):
    """An ICES vendor; its OAuth2 app (kind "vendor") carries vendor_id = Vendor.id."""

    __tablename__ = "vendors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    detection_technology: Mapped[str] = mapped_column(String(200))
    """The label shown in DetectionMethods, e.g. "Thirdparty: Acme ICES"."""
    contact: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    client_id: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VendorApproval(Base):
    """A tenant's consent that a vendor may judge (and so act on) its mail; revoked_at ends it."""

    __tablename__ = "vendor_approvals"
    __table_args__ = (UniqueConstraint("vendor_id", "tenant_id", name="uq_vendor_approvals_pair"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    approved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str] = mapped_column(String(320), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
