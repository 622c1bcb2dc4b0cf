"""Control-plane tables of the mail flow core."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ramparts.store.base import Base, new_id, utcnow


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    default_policy: Mapped[str] = mapped_column(String(64), default="Standard")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AcceptedDomain(Base):
    __tablename__ = "accepted_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class Mailbox(Base):
    """A recipient the tenant protects; policy names a preset (Standard, Strict) or a custom policy."""

    __tablename__ = "mailboxes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    policy: Mapped[str] = mapped_column(String(64), default="")
    """Empty = the tenant's default policy."""
    priority_account: Mapped[bool] = mapped_column(default=False)


class ListEntry(Base):
    """A tenant allow or block entry: kind is sender, domain or url."""

    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value", name="uq_list_entries_value"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomPolicy(Base):
    """A tenant's own threat policy: settings override the Standard preset's values by name."""

    __tablename__ = "custom_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_custom_policies_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(default=0)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    recipient_domains: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageRecord(Base):
    """One accepted message; its raw bytes live content-addressed under data_dir/messages."""

    __tablename__ = "messages"

    network_message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    internet_message_id: Mapped[str] = mapped_column(String(998), index=True, default="")
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    mail_from: Mapped[str] = mapped_column(String(320), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    size: Mapped[int] = mapped_column(default=0)
    blob_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="smtp")
    defects: Mapped[list[Any]] = mapped_column(default=list)
    engine_gaps: Mapped[list[Any]] = mapped_column(default=list)
    """Engines that could not judge this message (name and reason)."""


class MessageCopy(Base):
    """One recipient's copy of a message: its current verdict and where it is now."""

    __tablename__ = "message_copies"
    __table_args__ = (Index("ix_message_copies_tenant_received", "tenant_id", "received_at"),)

    network_message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.network_message_id", ondelete="CASCADE"), primary_key=True
    )
    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    received_at: Mapped[dt.datetime] = mapped_column()
    original_verdict: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(32))
    delivery_action: Mapped[str] = mapped_column(String(32))
    delivery_location: Mapped[str] = mapped_column(String(32))
    latest_location: Mapped[str] = mapped_column(String(32))
    latest_action: Mapped[str] = mapped_column(String(32))
    policy_name: Mapped[str] = mapped_column(String(64), default="")
    quarantine_tag: Mapped[str] = mapped_column(String(64), default="")
    mailbox_ref: Mapped[str] = mapped_column(String(512), default="")
    """Backend-specific handle of the delivered copy (Maildir file name, relay queue id)."""
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class VerdictRecord(Base):
    """Every verdict ramparts received, from engines, vendors or admins, whether or not it acted."""

    __tablename__ = "verdicts"
    __table_args__ = (
        UniqueConstraint(
            "source", "network_message_id", "recipient", "source_verdict_id", name="uq_verdicts_idempotency"
        ),
        Index("ix_verdicts_message", "network_message_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    network_message_id: Mapped[str] = mapped_column(String(36))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    """Empty when the verdict is for every recipient."""
    source_kind: Mapped[str] = mapped_column(String(16))
    """engine, vendor or admin."""
    source: Mapped[str] = mapped_column(String(128))
    source_verdict_id: Mapped[str] = mapped_column(String(200), default="")
    verdict: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(default=0.0)
    threat_names: Mapped[list[Any]] = mapped_column(default=list)
    explanation: Mapped[str] = mapped_column(default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_outcome: Mapped[bool] = mapped_column(default=False)


class QuarantineRecord(Base):
    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("network_message_id", "recipient", name="uq_quarantine_copy"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    """GUID1\\GUID2 as Defender writes quarantine identities."""
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    network_message_id: Mapped[str] = mapped_column(ForeignKey("messages.network_message_id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    quarantined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    quarantine_type: Mapped[str] = mapped_column(String(32))
    """Bulk, HighConfPhish, Malware, Phish, Spam, FileTypeBlock, TransportRule."""
    policy_type: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(128))
    tag_name: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column()
    release_status: Mapped[str] = mapped_column(String(32), default="NotReleased")
    released_by: Mapped[str] = mapped_column(String(320), default="")
    released_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    deleted: Mapped[bool] = mapped_column(default=False)
    reported: Mapped[bool] = mapped_column(default=False)
    reported_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    """When an admin first reported the message clean (the vendors that flagged it hear of it)."""


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    tenant_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(512), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ContactPair(Base):
    """A sender seen writing to a recipient; the first message of a pair is a first contact."""

    __tablename__ = "contact_pairs"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    sender: Mapped[str] = mapped_column(String(320), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Remediation(Base):
    """An admin or API remediation over many message copies (Graph's analyzedEmails/remediate)."""

    __tablename__ = "remediations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(256), default="")
    description: Mapped[str] = mapped_column(default="")
    severity: Mapped[str] = mapped_column(String(32), default="medium")
    requested_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="running")
    items: Mapped[list[Any]] = mapped_column(default=list)
    """[{networkMessageId, recipientEmailAddress, result}] filled as the work goes."""
