"""The vendor registry: add a vendor (and its OAuth2 app), approve it per tenant, suspend, rotate, list.

Every function writes in the caller's session and adds an audit row there, so the action and its
audit entry commit together. The vendor's client secret is returned once by add_vendor and rotate,
and never stored in plain text (identity.apps keeps an argon2id hash).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.apps import register_app, rotate_secret
from ramparts.identity.audit import record
from ramparts.identity.scopes import VERDICT_SUBMIT
from ramparts.store.base import utcnow
from ramparts.store.models import Tenant
from ramparts.tenants import find_tenant
from ramparts.vendors.models import ACTIVE, SUSPENDED, Vendor, VendorApproval

LABEL_PREFIX = "Thirdparty"


@dataclass(frozen=True, slots=True)
class Credentials:
    vendor_id: str
    client_id: str
    client_secret: str


def default_label(name: str) -> str:
    return f"{LABEL_PREFIX}: {name}"


def _check_label(label: str) -> str:
    cleaned = label.strip()
    if not cleaned.startswith(LABEL_PREFIX):
        raise InvalidInput(
            f"the detection technology label must start with {LABEL_PREFIX!r} (as in Defender), got {label!r}",
            field="detection_technology",
        )
    return cleaned[:200]


def find_vendor(session: Session, key: str) -> Vendor:
    """A vendor by name or id."""
    vendor = session.scalar(select(Vendor).where((Vendor.name == key) | (Vendor.id == key)))
    if vendor is None:
        raise NotFound(f"no vendor named {key!r}")
    return vendor


def add_vendor(
    session: Session, *, name: str, detection_technology: str = "", contact: str = "", actor: str = "system"
) -> tuple[Vendor, Credentials]:
    """Register a vendor and its app (scope Ices.Verdict.Submit); returns the secret, shown once."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise InvalidInput("a vendor needs a name of 1 to 200 characters", field="name")
    if session.scalar(select(Vendor.id).where(Vendor.name == cleaned)) is not None:
        raise InvalidInput(f"vendor {cleaned!r} already exists", field="name")
    vendor = Vendor(
        name=cleaned,
        detection_technology=_check_label(detection_technology or default_label(cleaned)),
        contact=contact.strip()[:320],
        status=ACTIVE,
        created_at=utcnow(),
    )
    session.add(vendor)
    session.flush()
    app, secret = register_app(
        session, name=f"vendor:{cleaned}", kind="vendor", scopes=[VERDICT_SUBMIT], vendor_id=vendor.id, actor=actor
    )
    vendor.client_id = app.client_id
    record(
        session,
        actor=actor,
        action="vendor.add",
        target=vendor.id,
        details={"name": cleaned, "label": vendor.detection_technology, "client_id": app.client_id},
    )
    return vendor, Credentials(vendor.id, app.client_id, secret)


def approve(session: Session, vendor_key: str, tenant_key: str, *, actor: str = "system") -> VendorApproval:
    """Let the vendor judge the tenant's mail (again, when an earlier approval was revoked)."""
    vendor = find_vendor(session, vendor_key)
    tenant = find_tenant(session, tenant_key)
    approval = session.scalar(
        select(VendorApproval).where(VendorApproval.vendor_id == vendor.id, VendorApproval.tenant_id == tenant.id)
    )
    now = utcnow()
    if approval is None:
        approval = VendorApproval(vendor_id=vendor.id, tenant_id=tenant.id, approved_at=now, approved_by=actor)
        session.add(approval)
    elif approval.revoked_at is not None:
        approval.revoked_at, approval.approved_at, approval.approved_by = None, now, actor
    session.flush()
    record(session, actor=actor, action="vendor.approve", target=vendor.id, tenant_id=tenant.id)
    return approval


def revoke_approval(session: Session, vendor_key: str, tenant_key: str, *, actor: str = "system") -> None:
    vendor = find_vendor(session, vendor_key)
    tenant = find_tenant(session, tenant_key)
    approval = session.scalar(
        select(VendorApproval).where(VendorApproval.vendor_id == vendor.id, VendorApproval.tenant_id == tenant.id)
    )
    if approval is None or approval.revoked_at is not None:
        raise NotFound(f"vendor {vendor.name!r} is not approved for tenant {tenant.name!r}")
    approval.revoked_at = utcnow()
    record(session, actor=actor, action="vendor.revoke_approval", target=vendor.id, tenant_id=tenant.id)


def _set_status(session: Session, vendor_key: str, status: str, actor: str) -> Vendor:
    vendor = find_vendor(session, vendor_key)
    vendor.status = status
    record(
        session, actor=actor, action=f"vendor.{'suspend' if status == SUSPENDED else 'reactivate'}", target=vendor.id
    )
    return vendor


def suspend(session: Session, vendor_key: str, *, actor: str = "system") -> Vendor:
    """Refuse the vendor's calls (403) until reactivated; its approvals are kept."""
    return _set_status(session, vendor_key, SUSPENDED, actor)


def reactivate(session: Session, vendor_key: str, *, actor: str = "system") -> Vendor:
    return _set_status(session, vendor_key, ACTIVE, actor)


def rotate(session: Session, vendor_key: str, *, actor: str = "system", now: dt.datetime | None = None) -> Credentials:
    """A new secret for the vendor's app (the old one keeps working for identity's grace period)."""
    vendor = find_vendor(session, vendor_key)
    secret = rotate_secret(session, vendor.client_id, actor=actor, now=now)
    record(session, actor=actor, action="vendor.rotate", target=vendor.id, details={"client_id": vendor.client_id})
    return Credentials(vendor.id, vendor.client_id, secret)


def approved_tenants(session: Session, vendor_id: str) -> set[str]:
    rows = session.scalars(
        select(VendorApproval.tenant_id).where(
            VendorApproval.vendor_id == vendor_id, VendorApproval.revoked_at.is_(None)
        )
    )
    return set(rows)


def list_vendors(session: Session) -> list[dict[str, Any]]:
    names = {t.id: t.name for t in session.scalars(select(Tenant))}
    vendors = session.scalars(select(Vendor).order_by(Vendor.name)).all()
    approvals = session.scalars(select(VendorApproval).where(VendorApproval.revoked_at.is_(None))).all()
    out = []
    for vendor in vendors:
        out.append(
            {
                "id": vendor.id,
                "name": vendor.name,
                "detection_technology": vendor.detection_technology,
                "contact": vendor.contact,
                "status": vendor.status,
                "client_id": vendor.client_id,
                "created_at": vendor.created_at.isoformat(),
                "approved_tenants": sorted(
                    names.get(a.tenant_id, a.tenant_id) for a in approvals if a.vendor_id == vendor.id
                ),
            }
        )
    return out
