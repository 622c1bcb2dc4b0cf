"""Control-plane tables of the vendor registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
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


PENDING = "pending"
COMPLETED = "completed"
NOT_FOUND = "notFound"


class VerdictIntake(Base):
    """A vendor verdict as accepted (202) and not yet, or already, applied.

    The request stores it and answers; the applier (vendors.applier) applies pending rows in batches and
    records the outcome here, so the status URL (/ices/v1/verdicts/{id}) reads one row. Idempotency: one
    row per (vendor, message as named, recipient as named, vendorVerdictId); applying is idempotent
    again through VerdictRecord's own unique key, so a verdict named two ways still acts once."""

    __tablename__ = "verdict_intake"
    __table_args__ = (
        UniqueConstraint(  # vendor_verdict_id second: replays are looked up by (vendor, vendorVerdictId)
            "vendor_id",
            "vendor_verdict_id",
            "network_message_id",
            "internet_message_id",
            "recipient",
            name="uq_verdict_intake_key",
        ),
        Index("ix_verdict_intake_pending", "status", "seq"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    """Arrival order: the applier takes pending rows oldest first."""
    id: Mapped[str] = mapped_column(String(36), unique=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(36), default="")
    vendor_verdict_id: Mapped[str] = mapped_column(String(200))
    network_message_id: Mapped[str] = mapped_column(String(64), default="")
    internet_message_id: Mapped[str] = mapped_column(String(998), default="")
    recipient: Mapped[str] = mapped_column(String(320), default="")
    submission: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The VerdictSubmission as received (JSON)."""
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    applied_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Once applied: verdictRecordIds, changedOutcome, replayed, results."""


class TelemetryOutbox(Base):
    """The telemetry of one applied batch, written in the batch's own transaction by the applier
    process and moved into the telemetry store by the server (vendors.outbox): DuckDB admits one
    writing process, and a batch committed here must not lose its EmailPostDeliveryEvents rows or its
    Latest* changes if either process dies before the server has written them."""

    __tablename__ = "telemetry_outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    payload: Mapped[str] = mapped_column(Text)
    """vendors.outbox.encode(): the rows per table and the Latest* changes, as JSON."""
