"""`ramparts quarantine` against a running server (through its HTTP API) and then with the server stopped
(on the data directory itself): a malware message sent over SMTP is found, previewed, released once."""

from __future__ import annotations

import json
import smtplib
import time
from email.message import EmailMessage

from tests.e2e.conftest import ServerProcess

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _send_malware(server: ServerProcess) -> None:
    message = EmailMessage()
    message["From"] = "Billing <billing@partner.example>"
    message["To"] = "alice@example.com"
    message["Subject"] = "Invoice 4411"
    message.set_content("Please see the attached invoice.\n")
    message.add_attachment(EICAR, maintype="application", subtype="octet-stream", filename="invoice.com")
    with smtplib.SMTP(*server.smtp_address, timeout=30) as client:
        client.send_message(message)


def _list(server: ServerProcess, *extra: str) -> list[dict[str, object]]:
    result = server.cli("quarantine", "list", "--data-dir", str(server.data_dir), "--json", *extra)
    return list(json.loads(result.stdout))


def _inbox(server: ServerProcess) -> list[str]:
    box = server.data_dir / "mailboxes" / "alice@example.com"
    return [p.name for sub in ("new", "cur") if (box / sub).exists() for p in (box / sub).iterdir()]


def test_quarantine_commands_through_the_server_and_without_it(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    data = ("--data-dir", str(server.data_dir))
    _send_malware(server)
    deadline = time.monotonic() + 60
    while not (found := _list(server)):
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.1)
    (held,) = found
    assert (held["RecipientAddress"], held["Type"], held["Subject"]) == ("alice@example.com", "Malware", "Invoice 4411")
    identity = str(held["Identity"])

    preview = json.loads(server.cli("quarantine", "preview", identity, *data, "--json").stdout)
    assert "attached invoice" in preview["Text"]
    assert [a["fileName"] for a in preview["Attachments"]] == ["invoice.com"]
    assert _inbox(server) == []
    released = server.cli("quarantine", "release", identity, *data)
    assert f"released {identity}" in released.stdout
    assert len(_inbox(server)) == 1
    again = server.cli("quarantine", "release", identity, *data, check=False)
    assert again.returncode == 2 and "already released" in again.stderr
    missing = server.cli("quarantine", "show", identity.replace("-", "0"), *data, check=False)
    assert missing.returncode == 2 and "no quarantined message" in missing.stderr

    assert server.stop() == 0
    assert [r["ReleaseStatus"] for r in _list(server, "--released")] == ["Released"]
    hunted = server.cli("hunt", *data, "--json", "EmailPostDeliveryEvents | project Action, ActionResult")
    assert json.loads(hunted.stdout) == [{"Action": "Moved to inbox", "ActionResult": "Success"}]
    server.cli("quarantine", "delete", identity, *data)
    assert _list(server) == []
    assert len(_inbox(server)) == 1  # deleting a released record leaves the recipient's copy alone
