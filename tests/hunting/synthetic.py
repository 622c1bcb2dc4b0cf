"""A small, deterministic Defender-shaped data set for the five hunting tables, loadable into
DuckDB and chdb the same way."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from ramparts.hunting import create_tables_sql
from ramparts.telemetry.schema import TABLES

NOW = dt.datetime(2024, 5, 15, 12, 0, tzinfo=dt.UTC)
TENANTS = ("tenant-a", "tenant-b")
DOMAINS = ("contoso.com", "fabrikam.com", "evil-phish.ru", "bulkmail.net", "Gmail.com", "paypa1-secure.xyz")
USERS = ("alice", "bob", "carol", "dave", "Eve", "mallory")
SUBJECTS = (
    "Invoice 4411 overdue",
    "Your password expires today",
    "Phishing awareness training",
    "phish test: click here",
    "Quarterly report",
    "RE: Meeting notes",
    "DocuSign: please review",
    "",
    "Free gift card!!!",
    "Urgent wire transfer",
)
THREATS = ("", "", "", "Phish", "Spam", "Malware", "Phish, Spam", "Phishing")
DETECTIONS = {
    "": "{}",
    "Phish": '{"Phish":["URL malicious reputation"]}',
    "Spam": '{"Spam":["Bulk"]}',
    "Malware": '{"Malware":["File detonation","Antimalware protection"]}',
    "Phish, Spam": '{"Phish":["URL detonation"],"Spam":["Mixed analysis detection"]}',
    "Phishing": '{"Phish":["Impersonation domain"]}',
}
FILES = (
    ("invoice.pdf", "pdf"),
    ("payload.exe", "exe"),
    ("macro.docm", "docm"),
    ("photo.png", "png"),
    ("scan.html", "html"),
)
ACTIONS = ("ClickAllowed", "ClickBlocked", "ClickBlockedByTenantPolicy")


def _auth(rng: random.Random) -> str:
    pick = rng.choice(("pass", "pass", "fail", "none"))
    return json.dumps(
        {
            "SPF": pick,
            "DKIM": rng.choice(("pass", "fail", "none")),
            "DMARC": pick,
            "CompAuth": rng.choice(("pass", "fail")),
        },
        separators=(",", ":"),
    )


def generate(seed: int = 7, messages: int = 240) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    data: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for i in range(messages):
        ts = NOW - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 20), seconds=i)
        domain = rng.choice(DOMAINS)
        sender = f"{rng.choice(USERS).lower()}@{domain}"
        recipient = f"{rng.choice(USERS)}@contoso.com"
        threat = rng.choice(THREATS)
        tenant = TENANTS[i % 5 == 0]
        nmid = f"nmid-{i:04d}"
        urls = rng.randint(0, 3)
        files = rng.randint(0, 2)
        delivered = threat == "" or rng.random() < 0.3
        data["EmailEvents"].append(
            {
                "Timestamp": ts,
                "NetworkMessageId": nmid,
                "InternetMessageId": f"<{i}.{domain}@mail>",
                "SenderMailFromAddress": sender,
                "SenderFromAddress": sender,
                "SenderDisplayName": sender.split("@")[0].title(),
                "SenderObjectId": "",
                "SenderMailFromDomain": domain,
                "SenderFromDomain": domain,
                "SenderIPv4": f"203.0.113.{rng.randint(1, 30)}",
                "SenderIPv6": "",
                "RecipientEmailAddress": recipient,
                "RecipientObjectId": f"oid-{recipient.split('@')[0].lower()}",
                "Subject": rng.choice(SUBJECTS),
                "EmailClusterId": rng.randint(1, 20),
                "EmailDirection": rng.choice(("Inbound", "Inbound", "Inbound", "Outbound", "Intra-org")),
                "DeliveryAction": "Delivered" if delivered else rng.choice(("Junked", "Blocked")),
                "DeliveryLocation": "Inbox/folder" if delivered else rng.choice(("Junk folder", "Quarantine")),
                "ThreatTypes": threat,
                "ThreatNames": "Trojan:Win32/Emotet" if "Malware" in threat else "",
                "DetectionMethods": DETECTIONS[threat],
                "ConfidenceLevel": '{"Phish":"High"}' if "Phish" in threat else '{"Spam":"5"}' if threat else "{}",
                "BulkComplaintLevel": rng.randint(0, 9),
                "EmailAction": "Move to quarantine" if not delivered else "No action taken",
                "EmailActionPolicy": rng.choice(("Antiphish", "Antispam", "")),
                "EmailActionPolicyGuid": "",
                "AuthenticationDetails": _auth(rng),
                "AttachmentCount": files,
                "UrlCount": urls,
                "EmailLanguage": rng.choice(("en", "fr", "de")),
                "Connectors": "",
                "OrgLevelAction": "",
                "OrgLevelPolicy": "",
                "UserLevelAction": "",
                "UserLevelPolicy": "",
                "ReportId": f"r-{i}",
                "AdditionalFields": json.dumps(
                    {"Vendor": rng.choice(("ramparts", "acme")), "Score": rng.randint(0, 100)}
                ),
                "LatestDeliveryLocation": "Inbox/folder" if delivered else "Quarantine",
                "LatestDeliveryAction": "Delivered" if delivered else "Blocked",
                "OriginalThreatTypes": threat,
                "OriginalDetectionMethods": DETECTIONS[threat],
                "OriginalConfidenceLevel": "",
                "DistributionList": "",
                "ExchangeTransportRule": "",
                "ForwardingInformation": "",
                "Context": "",
                "To": recipient,
                "Cc": "",
                "ThreatClassification": "",
                "RecipientDomain": "contoso.com",
                "EmailSize": rng.randint(1_000, 5_000_000),
                "IsFirstContact": rng.randint(0, 1),
                "Topics": "",
                "TenantId": tenant,
            }
        )
        for u in range(urls):
            url_domain = rng.choice((domain, "bit.ly", "login.microsoftonline.com", "docs.google.com"))
            url = f"https://{url_domain}/path/{rng.randint(1, 50)}?id={i}&u={u}"
            data["EmailUrlInfo"].append(
                {
                    "Timestamp": ts,
                    "NetworkMessageId": nmid,
                    "Url": url,
                    "UrlDomain": url_domain,
                    "UrlLocation": rng.choice(("Body", "Attachment", "QRCode")),
                    "UrlChainId": "",
                    "UrlChainPosition": 0,
                    "ReportId": f"r-{i}-u{u}",
                    "TenantId": tenant,
                }
            )
            if rng.random() < 0.4:
                data["UrlClickEvents"].append(
                    {
                        "Timestamp": ts + dt.timedelta(minutes=rng.randint(1, 600)),
                        "Url": url,
                        "ActionType": rng.choice(ACTIONS),
                        "AccountUpn": recipient,
                        "Workload": "Email",
                        "NetworkMessageId": nmid,
                        "ThreatTypes": threat,
                        "DetectionMethods": "",
                        "IPAddress": f"198.51.100.{rng.randint(1, 9)}",
                        "IsClickedThrough": rng.random() < 0.3,
                        "UrlChain": json.dumps([url]),
                        "ReportId": f"c-{i}-{u}",
                        "AppName": "Outlook",
                        "AppVersion": "16.0",
                        "SourceId": "",
                        "TenantId": tenant,
                    }
                )
        for f in range(files):
            name, kind = rng.choice(FILES)
            data["EmailAttachmentInfo"].append(
                {
                    "Timestamp": ts,
                    "NetworkMessageId": nmid,
                    "SenderFromAddress": sender,
                    "SenderDisplayName": sender.split("@")[0].title(),
                    "SenderObjectId": "",
                    "RecipientEmailAddress": recipient,
                    "RecipientObjectId": "",
                    "FileName": name,
                    "FileType": kind,
                    "SHA256": f"{rng.getrandbits(64):016x}" * 4,
                    "FileSize": rng.randint(100, 900_000),
                    "ThreatTypes": "Malware" if kind == "exe" else "",
                    "ThreatNames": "",
                    "DetectionMethods": DETECTIONS["Malware"] if kind == "exe" else "",
                    "ReportId": f"r-{i}-a{f}",
                    "TenantId": tenant,
                }
            )
        if threat and delivered and rng.random() < 0.7:
            data["EmailPostDeliveryEvents"].append(
                {
                    "Timestamp": ts + dt.timedelta(hours=rng.randint(1, 48)),
                    "NetworkMessageId": nmid,
                    "InternetMessageId": f"<{i}.{domain}@mail>",
                    "Action": "Moved to quarantine",
                    "ActionType": rng.choice(("Phish ZAP", "Malware ZAP", "Manual Remediation")),
                    "ActionTrigger": rng.choice(("SpecialAction", "AdminAction")),
                    "ActionResult": "Success",
                    "RecipientEmailAddress": recipient,
                    "DeliveryLocation": "Quarantine",
                    "ThreatTypes": threat,
                    "DetectionMethods": DETECTIONS[threat],
                    "ReportId": f"p-{i}",
                    "SenderFromAddress": sender,
                    "EmailDirection": "Inbound",
                    "SourceLocation": "Inbox",
                    "TenantId": tenant,
                }
            )
    return data


def _sql_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return "'" + value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def insert_statements(data: dict[str, list[dict[str, Any]]], dialect: str) -> list[str]:
    out: list[str] = []
    for name, rows in data.items():
        if not rows:
            continue
        columns = TABLES[name].column_names
        values = ",".join("(" + ",".join(_sql_value(row.get(c)) for c in columns) + ")" for row in rows)
        quoted = ",".join(f'"{c}"' for c in columns)
        out.append(f'INSERT INTO "{name}" ({quoted}) VALUES {values}')
    _ = dialect
    return out


def load_duckdb(conn: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    conn.execute("SET TimeZone = 'UTC'")
    for statement in create_tables_sql("duckdb"):
        conn.execute(statement)
    for statement in insert_statements(data, "duckdb"):
        conn.execute(statement.replace("\\\\", "\\"))


def load_chdb(session: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    session.query("CREATE DATABASE IF NOT EXISTS hunting_test")
    session.query("USE hunting_test")
    for statement in create_tables_sql("clickhouse"):
        session.query(statement)
    for statement in insert_statements(data, "clickhouse"):
        session.query(statement)
