"""Saved hunting queries of the portal: per tenant, or shared (tenant_id NULL, kept by admins)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ramparts.errors import InvalidInput, NotFound
from ramparts.store.base import Base, new_id, utcnow

MAX_QUERY_CHARS = 100_000


class SavedQuery(Base):
    __tablename__ = "saved_queries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    """None: shared with every tenant."""
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def list_saved(session: Session, tenant_id: str | None, *, include_shared: bool = True) -> list[SavedQuery]:
    """A tenant's queries (and the shared ones); tenant_id None lists the shared ones only."""
    where = SavedQuery.tenant_id.is_(None) if tenant_id is None else SavedQuery.tenant_id == tenant_id
    if tenant_id is not None and include_shared:
        where = or_(where, SavedQuery.tenant_id.is_(None))
    return list(session.scalars(select(SavedQuery).where(where).order_by(SavedQuery.name, SavedQuery.id)))


def save_query(
    session: Session,
    *,
    tenant_id: str | None,
    name: str,
    query: str,
    description: str = "",
    created_by: str = "",
    now: dt.datetime | None = None,
) -> SavedQuery:
    """Add a query, or replace the one of the same name in the same tenant."""
    name = name.strip()
    if not name:
        raise InvalidInput("a saved query needs a name", field="name")
    if not query.strip():
        raise InvalidInput("a saved query needs query text", field="query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query text is limited to {MAX_QUERY_CHARS} characters", field="query")
    now = now or utcnow()
    owner = SavedQuery.tenant_id.is_(None) if tenant_id is None else SavedQuery.tenant_id == tenant_id
    saved = session.scalar(select(SavedQuery).where(owner, SavedQuery.name == name))
    if saved is None:
        saved = SavedQuery(tenant_id=tenant_id, name=name, query=query, created_at=now, created_by=created_by)
        session.add(saved)
    saved.query = query
    saved.description = description
    saved.updated_at = now
    session.flush()
    return saved


def delete_saved(session: Session, tenant_id: str | None, query_id: str) -> SavedQuery:
    """Delete a query the caller owns: a tenant's own, or (tenant_id None) a shared one."""
    saved = session.get(SavedQuery, query_id)
    if saved is None or saved.tenant_id != tenant_id:
        raise NotFound(f"no saved query {query_id!r}")
    session.delete(saved)
    return saved
