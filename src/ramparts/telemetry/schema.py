"""Column names, KQL types and descriptions of the five hunting tables, declared as data.

Names and types follow Defender's advanced-hunting tables; TenantId is added the way Microsoft
Sentinel adds it. Every other part of ramparts (writer, stores, KQL binder, portal schema browser)
reads these definitions instead of restating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KqlType = Literal["datetime", "string", "long", "int", "bool", "real", "dynamic", "timespan", "guid"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: KqlType
    description: str


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def _cols(*spec: tuple[str, KqlType, str]) -> tuple[Column, ...]:
    return tuple(Column(name, kind, text) for name, kind, text in spec)


_TENANT: tuple[str, KqlType, str] = (
    "TenantId",
    "string",
    "Tenant that received the message (added as Microsoft Sentinel adds it)",
)

EMAIL_EVENTS = Table(
    "EmailEvents",
    "One row per message and recipient at delivery time",
    _cols(
        ("Timestamp", "datetime", "Date and time the event was recorded"),
        ("NetworkMessageId", "string", "Unique identifier of the message, made by ramparts"),
        ("InternetMessageId", "string", "Message-ID header set by the sending system"),
        ("SenderMailFromAddress", "string", "Envelope sender (MAIL FROM / Return-Path) address"),
        ("SenderFromAddress", "string", "Address in the From header"),
        ("SenderDisplayName", "string", "Display name in the From header"),
        ("SenderObjectId", "string", "Directory id of the sender, for internal senders"),
        ("SenderMailFromDomain", "string", "Domain of the envelope sender"),
        ("SenderFromDomain", "string", "Domain of the From header address"),
        ("SenderIPv4", "string", "IPv4 address of the last relaying server"),
        ("SenderIPv6", "string", "IPv6 address of the last relaying server"),
        ("RecipientEmailAddress", "string", "Recipient address"),
        ("RecipientObjectId", "string", "Directory id of the recipient"),
        ("Subject", "string", "Subject of the message"),
        ("EmailClusterId", "long", "Cluster of messages with similar content"),
        ("EmailDirection", "string", "Inbound, Outbound or Intra-org"),
        ("DeliveryAction", "string", "Delivered, Junked, Blocked or Replaced"),
        ("DeliveryLocation", "string", "Where the message was delivered: Inbox/folder, Junk folder, Quarantine, ..."),
        ("ThreatTypes", "string", "Verdict families found: Malware, Phish, Spam"),
        ("ThreatNames", "string", "Detection names of malware or other threats"),
        ("DetectionMethods", "string", "JSON: threat type -> detection technologies"),
        ("ConfidenceLevel", "string", "JSON: SCL for spam, High/Low for phish"),
        ("BulkComplaintLevel", "int", "Bulk complaint level (0-9)"),
        ("EmailAction", "string", "Final action taken on the message"),
        ("EmailActionPolicy", "string", "Policy family that decided the action"),
        ("EmailActionPolicyGuid", "string", "Identifier of the policy that decided the action"),
        ("AuthenticationDetails", "string", "JSON: SPF, DKIM, DMARC and CompAuth results"),
        ("AttachmentCount", "int", "Number of attachments"),
        ("UrlCount", "int", "Number of URLs in the message"),
        ("EmailLanguage", "string", "Detected language of the content"),
        ("Connectors", "string", "Inbound connector the message came through"),
        ("OrgLevelAction", "string", "Action from an organisation-level allow or block"),
        ("OrgLevelPolicy", "string", "Organisation-level policy that acted"),
        ("UserLevelAction", "string", "Action from a recipient's own allow or block settings"),
        ("UserLevelPolicy", "string", "Recipient-level setting that acted"),
        ("ReportId", "string", "Event identifier"),
        ("AdditionalFields", "string", "JSON: further information, including vendor attributes"),
        ("LatestDeliveryLocation", "string", "Last known location of the message"),
        ("LatestDeliveryAction", "string", "Last action taken by the service or an admin"),
        ("OriginalThreatTypes", "string", "ThreatTypes as they were at delivery time"),
        ("OriginalDetectionMethods", "string", "DetectionMethods as they were at delivery time"),
        ("OriginalConfidenceLevel", "string", "ConfidenceLevel as it was at delivery time"),
        ("DistributionList", "string", "Top-level distribution list the message came through"),
        ("ExchangeTransportRule", "string", "Mail flow rules that acted"),
        ("ForwardingInformation", "string", "JSON: forwarding user and type"),
        ("Context", "string", "Protection context, e.g. Priority Account Protection"),
        ("To", "string", "Addresses in the To header"),
        ("Cc", "string", "Addresses in the Cc header"),
        ("ThreatClassification", "string", "Intent class of the threat"),
        ("RecipientDomain", "string", "Domain of the recipient"),
        ("EmailSize", "long", "Size of the message in bytes"),
        ("IsFirstContact", "int", "1 when this is the first message from the sender to the recipient"),
        ("Topics", "string", "Topic classification"),
        _TENANT,
    ),
)

EMAIL_POST_DELIVERY_EVENTS = Table(
    "EmailPostDeliveryEvents",
    "Actions taken on messages after delivery",
    _cols(
        ("Timestamp", "datetime", "Date and time the event was recorded"),
        ("NetworkMessageId", "string", "Unique identifier of the message"),
        ("InternetMessageId", "string", "Message-ID header"),
        ("Action", "string", "What was done to the message"),
        ("ActionType", "string", "Manual remediation, Phish ZAP, Malware ZAP, ..."),
        ("ActionTrigger", "string", "What triggered the action: AdminAction, SpecialAction, ..."),
        ("ActionResult", "string", "Outcome of the action"),
        ("RecipientEmailAddress", "string", "Recipient address"),
        ("DeliveryLocation", "string", "Location after the action"),
        ("ThreatTypes", "string", "Verdict families behind the action"),
        ("DetectionMethods", "string", "JSON: threat type -> detection technologies"),
        ("ReportId", "string", "Event identifier"),
        ("SenderFromAddress", "string", "Address in the From header"),
        ("EmailDirection", "string", "Inbound, Outbound or Intra-org"),
        ("SourceLocation", "string", "Folder the message was in when the action ran"),
        _TENANT,
    ),
)

EMAIL_URL_INFO = Table(
    "EmailUrlInfo",
    "URLs found in messages",
    _cols(
        ("Timestamp", "datetime", "Date and time the event was recorded"),
        ("NetworkMessageId", "string", "Unique identifier of the message"),
        ("Url", "string", "Full URL"),
        ("UrlDomain", "string", "Domain of the URL"),
        ("UrlLocation", "string", "Where in the message the URL was found"),
        ("UrlChainId", "string", "Identifier of the redirect chain"),
        ("UrlChainPosition", "int", "Position in the redirect chain, 0 for the root URL"),
        ("ReportId", "string", "Event identifier"),
        _TENANT,
    ),
)

EMAIL_ATTACHMENT_INFO = Table(
    "EmailAttachmentInfo",
    "Attachments of messages, one row per file and recipient",
    _cols(
        ("Timestamp", "datetime", "Date and time the event was recorded"),
        ("NetworkMessageId", "string", "Unique identifier of the message"),
        ("SenderFromAddress", "string", "Address in the From header"),
        ("SenderDisplayName", "string", "Display name in the From header"),
        ("SenderObjectId", "string", "Directory id of the sender"),
        ("RecipientEmailAddress", "string", "Recipient address"),
        ("RecipientObjectId", "string", "Directory id of the recipient"),
        ("FileName", "string", "Name of the file"),
        ("FileType", "string", "Type of the file"),
        ("SHA256", "string", "SHA-256 of the file"),
        ("FileSize", "long", "Size of the file in bytes"),
        ("ThreatTypes", "string", "Verdict families for this file"),
        ("ThreatNames", "string", "Detection names for this file"),
        ("DetectionMethods", "string", "JSON: threat type -> detection technologies"),
        ("ReportId", "string", "Event identifier"),
        _TENANT,
    ),
)

URL_CLICK_EVENTS = Table(
    "UrlClickEvents",
    "Clicks on rewritten links",
    _cols(
        ("Timestamp", "datetime", "Date and time of the click"),
        ("Url", "string", "Clicked URL"),
        ("ActionType", "string", "ClickAllowed, ClickBlocked, ClickBlockedByTenantPolicy, ..."),
        ("AccountUpn", "string", "User who clicked"),
        ("Workload", "string", "Email, Office or Teams"),
        ("NetworkMessageId", "string", "Message the link came from"),
        ("ThreatTypes", "string", "Verdict at click time"),
        ("DetectionMethods", "string", "Detection technology at click time"),
        ("IPAddress", "string", "Public IP address of the clicking device"),
        ("IsClickedThrough", "bool", "Whether the user went on past a warning page"),
        ("UrlChain", "string", "Redirect chain of the URL"),
        ("ReportId", "string", "Click identifier"),
        ("AppName", "string", "Client application"),
        ("AppVersion", "string", "Client application version"),
        ("SourceId", "string", "Identifier of the click source"),
        _TENANT,
    ),
)

TABLES: dict[str, Table] = {
    table.name: table
    for table in (EMAIL_EVENTS, EMAIL_POST_DELIVERY_EVENTS, EMAIL_URL_INFO, EMAIL_ATTACHMENT_INFO, URL_CLICK_EVENTS)
}
