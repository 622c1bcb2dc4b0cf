"""The whole vendor loop on a real server: mail over SMTP, `ramparts vendor simulate` in another
process, post-delivery moves in the Maildir, and what the vendor API then reports."""

from __future__ import annotations

import json
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.e2e.conftest import ServerProcess


def _send(server: ServerProcess, sender: str, subject: str, body: str, **headers: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "alice@example.com"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    with smtplib.SMTP(*server.smtp_address, timeout=30) as client:
        client.send_message(message)


def _files(root: Path) -> dict[str, int]:
    """Message files per folder of alice's Maildir ("" = Inbox)."""
    box = root / "mailboxes" / "alice@example.com"
    counts: dict[str, int] = {}
    for path in box.rglob("*"):
        if path.is_file() and path.parent.name in ("new", "cur"):
            folder = path.parent.parent.name if path.parent.parent != box else ""
            counts[folder] = counts.get(folder, 0) + 1
    return counts


def test_a_simulated_vendor_judges_delivered_mail_and_moves_it(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    _send(server, "Adele <adele@partner.example>", "Q3 forecast", "Figures: https://portal.partner.example/q3")
    _send(
        server,
        "Cloud Weekly <news@mail.cloudweekly.io>",
        "This week's top picks",
        "Read https://cloudweekly.io/issues/7\nUnsubscribe: https://cloudweekly.io/unsubscribe?u=1\n",
        List_Unsubscribe="<https://cloudweekly.io/unsubscribe?u=1>",
    )
    deadline = time.monotonic() + 60
    while sum(_files(server.data_dir).values()) < 2:  # poll until both copies are delivered
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.05)
    assert _files(server.data_dir).get("") == 2

    result = server.cli("vendor", "simulate", "--data-dir", str(server.data_dir), "--url", server.http_url, "--json")
    summary = json.loads(result.stdout)
    assert summary["messages"] == 2
    assert summary["verdicts"] == {"Spam": 1}
    assert summary["changedOutcome"] == 1
    assert summary["actions"] == {"moveToJunk: Success": 1}
    assert _files(server.data_dir) == {"": 1, ".Junk": 1}

    again = json.loads(
        server.cli("vendor", "simulate", "--data-dir", str(server.data_dir), "--url", server.http_url, "--json").stdout
    )
    assert again["replayed"] == 1 and again["changedOutcome"] == 0 and again["actions"] == {}
    assert _files(server.data_dir) == {"": 1, ".Junk": 1}

    credentials = json.loads((server.data_dir / "vendor-acme-ices.json").read_text())
    with httpx.Client(base_url=server.http_url) as client:
        token = client.post("/oauth2/token", data={"grant_type": "client_credentials", **credentials}).json()
        listed = client.get("/ices/v1/messages", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    locations = sorted(m["latestDeliveryLocation"] for m in listed["value"])
    assert locations == ["Inbox/folder", "Junk folder"]
    vendors = json.loads(server.cli("vendor", "list", "--data-dir", str(server.data_dir), "--json").stdout)
    assert vendors[0]["name"] == "Acme ICES" and vendors[0]["approved_tenants"] == ["contoso"]

    # the applier runs in a process of its own; its telemetry reaches hunting through the outbox
    query = (
        "EmailPostDeliveryEvents | where ActionTrigger == 'ThirdParty' "
        "| project ActionResult, DeliveryLocation, DetectionMethods"
    )
    deadline = time.monotonic() + 30
    while not (rows := json.loads(server.cli("hunt", "--data-dir", str(server.data_dir), "--json", query).stdout)):
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.2)
    assert [(r["ActionResult"], r["DeliveryLocation"]) for r in rows] == [("Success", "Junk folder")]
    assert "Thirdparty" in rows[0]["DetectionMethods"]
    latest = json.loads(
        server.cli(
            "hunt",
            "--data-dir",
            str(server.data_dir),
            "--json",
            "EmailEvents | summarize n = count() by LatestDeliveryLocation | order by LatestDeliveryLocation asc",
        ).stdout
    )
    assert [(r["LatestDeliveryLocation"], r["n"]) for r in latest] == [("Inbox/folder", 1), ("Junk folder", 1)]
