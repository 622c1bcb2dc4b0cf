"""The recent message copies a vendor may judge: those of the tenants that approved it, oldest first,
paged by an opaque cursor (receivedDateTime, networkMessageId, recipient)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, or_, select

from ramparts.domain.times import iso_utc
from ramparts.errors import InvalidInput
from ramparts.services import Services
from ramparts.store.models import MessageCopy, MessageRecord
from ramparts.vendors.intake import VendorCaller

MAX_PAGE = 1000


def encode_cursor(received: dt.datetime, nmid: str, recipient: str) -> str:
    raw = json.dumps([received.isoformat(), nmid, recipient]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[dt.datetime, str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        when, nmid, recipient = json.loads(raw)
        return dt.datetime.fromisoformat(when), str(nmid), str(recipient)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidInput("skiptoken is not a token this server gave", field="skiptoken") from exc


def list_messages(
    services: Services, caller: VendorCaller, *, since: dt.datetime, top: int, skiptoken: str = ""
) -> tuple[list[dict[str, Any]], str]:
    """One page of copies and the cursor of the next page ("" at the end)."""
    if not caller.tenants:
        return [], ""
    query = (
        select(MessageCopy, MessageRecord)
        .join(MessageRecord, MessageRecord.network_message_id == MessageCopy.network_message_id)
        .where(MessageCopy.tenant_id.in_(sorted(caller.tenants)), MessageCopy.received_at >= since)
        .order_by(MessageCopy.received_at, MessageCopy.network_message_id, MessageCopy.recipient)
        .limit(top + 1)
    )
    if skiptoken:
        when, nmid, recipient = decode_cursor(skiptoken)
        query = query.where(
            or_(
                MessageCopy.received_at > when,
                and_(MessageCopy.received_at == when, MessageCopy.network_message_id > nmid),
                and_(
                    MessageCopy.received_at == when,
                    MessageCopy.network_message_id == nmid,
                    MessageCopy.recipient > recipient,
                ),
            )
        )
    with services.sessions() as session:
        rows = session.execute(query).all()
    more = len(rows) > top
    rows = rows[:top]
    nmids = sorted({copy.network_message_id for copy, _ in rows})
    urls, files = _entities(services, nmids)
    items = [
        {
            "networkMessageId": copy.network_message_id,
            "internetMessageId": message.internet_message_id,
            "recipient": copy.recipient,
            "sender": message.from_address,
            "mailFrom": message.mail_from,
            "subject": message.subject,
            "receivedDateTime": iso_utc(copy.received_at),
            "latestDeliveryLocation": copy.latest_location,
            "urls": urls.get(copy.network_message_id, []),
            "attachments": files.get((copy.network_message_id, copy.recipient), []),
        }
        for copy, message in rows
    ]
    last = rows[-1][0] if rows else None
    token = encode_cursor(last.received_at, last.network_message_id, last.recipient) if more and last else ""
    return items, token


def _entities(
    services: Services, nmids: list[str]
) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[dict[str, str]]]]:
    """URLs and attachments of the messages, from the telemetry tables (flushed first)."""
    urls: dict[str, list[str]] = {}
    files: dict[tuple[str, str], list[dict[str, str]]] = {}
    if not nmids:
        return urls, files
    if services.writer.pending:
        services.writer.flush()
    marks = ", ".join("?" for _ in nmids)
    _, url_rows = services.telemetry.query(
        f'SELECT "NetworkMessageId", "Url" FROM "EmailUrlInfo" WHERE "NetworkMessageId" IN ({marks}) '
        'ORDER BY "NetworkMessageId", "ReportId"',
        nmids,
    )
    for nmid, url in url_rows:
        bucket = urls.setdefault(str(nmid), [])
        if url not in bucket:
            bucket.append(str(url))
    _, file_rows = services.telemetry.query(
        'SELECT "NetworkMessageId", lower("RecipientEmailAddress"), "FileName", "SHA256" FROM "EmailAttachmentInfo" '
        f'WHERE "NetworkMessageId" IN ({marks}) ORDER BY "ReportId"',
        nmids,
    )
    for nmid, recipient, name, sha in file_rows:
        files.setdefault((str(nmid), str(recipient)), []).append({"fileName": str(name), "sha256": str(sha)})
    return urls, files
