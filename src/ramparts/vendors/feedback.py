"""What a vendor's verdicts turned out to be worth: the false positives admins found among them.

When an admin releases a quarantined copy, or reports it clean, every approved vendor that had judged that
copy worse than Clean gets a feedback item, so the loop closes with the vendors and not only with ramparts'
own engines (gateway-anchors.md 11 C). Items are read by time: a vendor polls with `since` set to the last
`at` it saw. Only tenants that still approve the vendor are included.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ramparts.domain.times import iso_utc
from ramparts.domain.verdicts import Verdict
from ramparts.store.models import MessageRecord, QuarantineRecord, VerdictRecord
from ramparts.vendors.models import VendorApproval

MAX_ITEMS = 1000


def feedback_for(session: Session, vendor_id: str, since: dt.datetime, top: int = 200) -> list[dict[str, Any]]:
    """Feedback items after `since`, oldest first (at most `top`)."""
    approved = select(VendorApproval.tenant_id).where(
        VendorApproval.vendor_id == vendor_id, VendorApproval.revoked_at.is_(None)
    )
    statement = (
        select(QuarantineRecord, VerdictRecord, MessageRecord.internet_message_id)
        .join(
            VerdictRecord,
            and_(
                VerdictRecord.network_message_id == QuarantineRecord.network_message_id,
                VerdictRecord.recipient.in_(("", QuarantineRecord.recipient)),
            ),
        )
        .join(MessageRecord, MessageRecord.network_message_id == QuarantineRecord.network_message_id)
        .where(
            VerdictRecord.source_kind == "vendor",
            VerdictRecord.source == vendor_id,
            VerdictRecord.verdict != Verdict.CLEAN.value,
            QuarantineRecord.tenant_id.in_(approved),
            or_(
                and_(QuarantineRecord.release_status == "Released", QuarantineRecord.released_at > since),
                QuarantineRecord.reported_at > since,
            ),
        )
    )
    items: list[dict[str, Any]] = []
    for held, verdict, internet_message_id in session.execute(statement):
        events = []
        if held.release_status == "Released" and held.released_at is not None and held.released_at > since:
            events.append(("releasedFromQuarantine", held.released_at))
        if held.reported_at is not None and held.reported_at > since:
            events.append(("reportedClean", held.reported_at))
        for kind, at in events:
            items.append(
                {
                    "at": iso_utc(at),
                    "feedback": kind,
                    "networkMessageId": held.network_message_id,
                    "internetMessageId": internet_message_id,
                    "recipient": held.recipient,
                    "tenantId": held.tenant_id,
                    "vendorVerdictId": verdict.source_verdict_id,
                    "vendorVerdict": verdict.verdict,
                    "quarantineType": held.quarantine_type,
                }
            )
    items.sort(key=lambda item: (item["at"], item["networkMessageId"], item["recipient"], item["feedback"]))
    return items[: max(1, min(top, MAX_ITEMS))]
