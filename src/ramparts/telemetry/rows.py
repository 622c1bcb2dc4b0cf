"""Rows of the hunting tables for one judged message, in Defender's shapes. Pure."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ramparts.detection.merge import MergedVerdict
from ramparts.domain.enums import EmailDirection
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage
from ramparts.policy.decide import Decision

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CopyFacts:
    """What the pipeline decided for one recipient, as the telemetry needs it."""

    recipient: str
    recipient_object_id: str
    decision: Decision
    policy_guid: str
    first_contact: bool
    priority_account: bool


def report_id(*parts: str) -> str:
    """A stable numeric event id, so that rewriting a message's rows after a crash yields the same ids."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return str(int.from_bytes(digest, "big") >> 1)


def as_json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":")) if value else ""


_CLUSTER_NOISE = re.compile(r"[\d\W_]+")


def cluster_id(parsed: ParsedMessage) -> int:
    """Messages from the same sender domain with the same subject words share a cluster."""
    sender = parsed.from_.domain if parsed.from_ else ""
    basis = sender + "|" + _CLUSTER_NOISE.sub(" ", parsed.subject.lower()).strip()
    return int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "big") >> 1


def _ip_columns(peer_ip: str) -> tuple[str, str]:
    try:
        address = ipaddress.ip_address(peer_ip)
    except ValueError:
        return "", ""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        return (str(mapped), "") if mapped is not None else ("", str(address))
    return str(address), ""


def _direction(sender_internal: bool, recipient_internal: bool) -> str:
    if sender_internal and recipient_internal:
        return EmailDirection.INTRA_ORG.value
    if sender_internal:
        return EmailDirection.OUTBOUND.value
    return EmailDirection.INBOUND.value


def build_rows(
    *,
    tenant_id: str,
    network_message_id: str,
    envelope: Envelope,
    parsed: ParsedMessage,
    merged: MergedVerdict,
    copies: Sequence[CopyFacts],
    sender_internal: bool,
    sender_object_id: str = "",
    additional: dict[str, Any] | None = None,
) -> dict[str, list[Row]]:
    when = envelope.received_at
    mail_from = envelope.mail_from
    sender = parsed.from_
    ipv4, ipv6 = _ip_columns(envelope.peer_ip)
    detection = as_json(merged.detection_methods)
    confidence = as_json(merged.confidence_level)
    common: Row = {
        "Timestamp": when,
        "NetworkMessageId": network_message_id,
        "InternetMessageId": parsed.internet_message_id,
        "SenderMailFromAddress": mail_from,
        "SenderFromAddress": sender.address if sender else "",
        "SenderDisplayName": sender.display_name if sender else "",
        "SenderObjectId": sender_object_id,
        "SenderMailFromDomain": mail_from.rpartition("@")[2].lower() if "@" in mail_from else "",
        "SenderFromDomain": sender.domain if sender else "",
        "SenderIPv4": ipv4,
        "SenderIPv6": ipv6,
        "Subject": parsed.subject,
        "EmailClusterId": cluster_id(parsed),
        "ThreatNames": ", ".join(merged.threat_names),
        "ConfidenceLevel": confidence,
        "BulkComplaintLevel": merged.bulk_complaint_level,
        "AuthenticationDetails": as_json(merged.authentication),
        "AttachmentCount": len(parsed.attachments),
        "UrlCount": len(parsed.urls),
        "EmailLanguage": parsed.language,
        "Connectors": "",
        "OrgLevelAction": merged.org_level_action,
        "OrgLevelPolicy": merged.org_level_policy,
        "UserLevelAction": "",
        "UserLevelPolicy": "",
        "AdditionalFields": as_json(additional or {}),
        "To": ", ".join(a.address for a in parsed.to),
        "Cc": ", ".join(a.address for a in parsed.cc),
        "ThreatClassification": "",
        "EmailSize": parsed.size,
        "Topics": "",
        "DistributionList": "",
        "ExchangeTransportRule": "",
        "ForwardingInformation": "",
        "TenantId": tenant_id,
    }
    events: list[Row] = []
    attachments: list[Row] = []
    for index, copy in enumerate(copies):
        decision = copy.decision
        threat = merged.threat_types
        methods = detection
        if decision.bulk and not threat:
            threat, methods = "Spam", as_json({"Spam": ["Bulk"]})
        events.append(
            {
                **common,
                "RecipientEmailAddress": copy.recipient,
                "RecipientObjectId": copy.recipient_object_id,
                "RecipientDomain": copy.recipient.rpartition("@")[2].lower(),
                "EmailDirection": _direction(sender_internal, True),
                "DeliveryAction": decision.delivery_action.value,
                "DeliveryLocation": decision.delivery_location.value,
                "ThreatTypes": threat,
                "DetectionMethods": methods,
                "EmailAction": decision.email_action.value,
                "EmailActionPolicy": decision.email_action_policy,
                "EmailActionPolicyGuid": copy.policy_guid if decision.email_action_policy else "",
                "ReportId": report_id(network_message_id, "ee", str(index)),
                "LatestDeliveryLocation": decision.delivery_location.value,
                "LatestDeliveryAction": decision.delivery_action.value,
                "OriginalThreatTypes": threat,
                "OriginalDetectionMethods": methods,
                "OriginalConfidenceLevel": confidence,
                "Context": "Priority Account Protection" if copy.priority_account else "",
                "IsFirstContact": 1 if copy.first_contact else 0,
            }
        )
        for file_index, attachment in enumerate(parsed.attachments):
            file_verdict = merged.attachment_verdicts.get(attachment.sha256, Verdict.CLEAN)
            file_threat = file_verdict.threat_type
            file_methods = merged.detection_methods.get(file_threat, []) if file_threat else []
            attachments.append(
                {
                    "Timestamp": when,
                    "NetworkMessageId": network_message_id,
                    "SenderFromAddress": common["SenderFromAddress"],
                    "SenderDisplayName": common["SenderDisplayName"],
                    "SenderObjectId": sender_object_id,
                    "RecipientEmailAddress": copy.recipient,
                    "RecipientObjectId": copy.recipient_object_id,
                    "FileName": attachment.file_name,
                    "FileType": attachment.file_type,
                    "SHA256": attachment.sha256,
                    "FileSize": attachment.size,
                    "ThreatTypes": file_threat,
                    "ThreatNames": ", ".join(merged.threat_names) if file_threat else "",
                    "DetectionMethods": as_json({file_threat: file_methods}) if file_threat else "",
                    "ReportId": report_id(network_message_id, "ea", str(index), str(file_index)),
                    "TenantId": tenant_id,
                }
            )
    urls = [
        {
            "Timestamp": when,
            "NetworkMessageId": network_message_id,
            "Url": url.url,
            "UrlDomain": url.domain,
            "UrlLocation": url.location,
            "UrlChainId": "",
            "UrlChainPosition": 0,
            "ReportId": report_id(network_message_id, "eu", str(url_index)),
            "TenantId": tenant_id,
        }
        for url_index, url in enumerate(parsed.urls)
    ]
    return {"EmailEvents": events, "EmailUrlInfo": urls, "EmailAttachmentInfo": attachments}
