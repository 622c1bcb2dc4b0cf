"""Enum values of the hunting tables and policies, spelled exactly as Defender spells them."""

from __future__ import annotations

import enum


class DeliveryAction(enum.StrEnum):
    DELIVERED = "Delivered"
    JUNKED = "Junked"
    BLOCKED = "Blocked"
    REPLACED = "Replaced"


class DeliveryLocation(enum.StrEnum):
    INBOX = "Inbox/folder"
    ON_PREMISES = "On-premises/external"
    JUNK = "Junk folder"
    QUARANTINE = "Quarantine"
    FAILED = "Failed"
    DROPPED = "Dropped"
    DELETED_ITEMS = "Deleted items"
    UNKNOWN = "Unknown"


class LatestDeliveryAction(enum.StrEnum):
    DELIVERED = "Delivered"
    JUNKED = "Junked"
    BLOCKED = "Blocked"
    QUARANTINED = "Quarantined"
    REMOVED = "Removed"
    SOFT_DELETE = "Soft delete"
    HARD_DELETE = "Hard delete"
    MOVED_TO_JUNK = "Moved to junk folder"
    MOVED_TO_DELETED = "Moved to deleted items"
    MOVED_TO_INBOX = "Moved to inbox"
    RELEASED = "Released"


class EmailDirection(enum.StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"
    INTRA_ORG = "Intra-org"


class EmailAction(enum.StrEnum):
    MOVE_TO_JUNK = "Moved to Junk folder"
    SEND_TO_QUARANTINE = "Send to quarantine"
    NO_ACTION = "No action taken"
    DELETE = "Delete message"
    ADD_X_HEADER = "Add X-header"
    MODIFY_SUBJECT = "Modify subject"
    REDIRECT = "Redirect message"
    REJECT = "Reject message"


class EmailActionPolicy(enum.StrEnum):
    ANTISPAM_HIGH_CONFIDENCE = "Antispam high-confidence"
    ANTISPAM = "Antispam"
    ANTISPAM_BULK = "Antispam bulk mail"
    ANTISPAM_PHISH = "Antispam phishing"
    ANTIPHISH_DOMAIN_IMPERSONATION = "Anti-phishing domain impersonation"
    ANTIPHISH_USER_IMPERSONATION = "Anti-phishing user impersonation"
    ANTIPHISH_SPOOF = "Anti-phishing spoof"
    ANTIMALWARE = "Antimalware"
    SAFE_ATTACHMENTS = "Safe Attachments"
    TRANSPORT_RULE = "Enterprise Transport Rules (ETR)"
    THIRD_PARTY = "Third-party vendor"


class PolicyAction(enum.StrEnum):
    """Anti-spam action vocabulary, as PowerShell names it."""

    MOVE_TO_JMF = "MoveToJmf"
    QUARANTINE = "Quarantine"
    DELETE = "Delete"
    NO_ACTION = "NoAction"
    ADD_X_HEADER = "AddXHeader"
    MODIFY_SUBJECT = "ModifySubject"
    REDIRECT = "Redirect"
    REJECT = "Reject"
    """Not delivered anywhere (a honoured DMARC p=reject); the message stays in the message store."""


class QuarantinePolicyName(enum.StrEnum):
    ADMIN_ONLY = "AdminOnlyAccessPolicy"
    FULL_ACCESS = "DefaultFullAccessPolicy"
    FULL_ACCESS_WITH_NOTIFICATION = "DefaultFullAccessWithNotificationPolicy"
    NOTIFICATION_ENABLED = "NotificationEnabledPolicy"


class PostDeliveryActionType(enum.StrEnum):
    MANUAL_REMEDIATION = "Manual remediation"
    PHISH_ZAP = "Phish ZAP"
    MALWARE_ZAP = "Malware ZAP"
    SPAM_ZAP = "Spam ZAP"
    REDELIVERY = "Redelivery"
    THIRD_PARTY_REMEDIATION = "Third-party remediation"


class UrlLocation(enum.StrEnum):
    BODY = "Body"
    SUBJECT = "Subject"
    HEADER = "Header"
    ATTACHMENT = "Attachment"
    QR_CODE = "QRCode"
    UNKNOWN = "Unknown"


class UrlClickAction(enum.StrEnum):
    ALLOWED = "ClickAllowed"
    BLOCKED = "ClickBlocked"
    BLOCKED_BY_TENANT_POLICY = "ClickBlockedByTenantPolicy"
    ERROR_PAGE = "UrlErrorPage"
    SCAN_IN_PROGRESS = "UrlScanInProgress"


class AuthResult(enum.StrEnum):
    """Lower-case result words used in AuthenticationDetails JSON."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    BESTGUESSPASS = "bestguesspass"
    SOFTPASS = "softpass"
