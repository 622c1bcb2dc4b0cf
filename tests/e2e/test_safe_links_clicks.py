"""Link checks on a running server: mail over SMTP arrives with its links rewritten, `ramparts clicks
simulate` follows them over HTTP, the clicks land in UrlClickEvents, and `ramparts risk behaviour` scores
the clicker."""

from __future__ import annotations

import json
import smtplib
import time
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

from ramparts.click_simulation import first_checked_link, message_files
from tests.e2e.conftest import ServerProcess


def test_links_are_rewritten_clicked_and_logged(server_process: ServerProcess) -> None:
    server = server_process
    (server.data_dir / "ramparts.toml").write_text(f'safe_links_url = "{server.http_url}"\n')
    server.add_tenant("contoso", "example.com", "alice@example.com:Alice Example")
    server.start()
    message = EmailMessage()
    message["From"] = "Adele <adele@partner.example>"
    message["To"] = "alice@example.com"
    message["Subject"] = "Figures"
    message.set_content("The figures are at https://portal.partner.example/q3 as promised.\n")
    with smtplib.SMTP(*server.smtp_address, timeout=30) as client:
        client.send_message(message)
    deadline = time.monotonic() + 60
    while not message_files(server.data_dir / "mailboxes"):
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.1)
    (delivered,) = message_files(server.data_dir / "mailboxes")
    link = first_checked_link(delivered.read_bytes())
    assert link.startswith(f"{server.http_url}/safelinks/v1/click?")
    assert parse_qs(urlsplit(link).query)["url"] == ["https://portal.partner.example/q3"]

    data = ("--data-dir", str(server.data_dir))
    clicked = server.cli("clicks", "simulate", *data, "--url", server.http_url, "--share", "1", "--json")
    assert json.loads(clicked.stdout)["outcomes"] == {"allowed": 1}
    deadline = time.monotonic() + 30
    while True:  # the server writes telemetry in batches
        hunted = server.cli("hunt", *data, "--json", "UrlClickEvents | project Url, ActionType, AccountUpn")
        rows = json.loads(hunted.stdout)
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rows == [
        {"Url": "https://portal.partner.example/q3", "ActionType": "ClickAllowed", "AccountUpn": "alice@example.com"}
    ]
    scored = json.loads(server.cli("risk", "behaviour", *data, "--tenant", "contoso", "--json").stdout)
    assert scored["hasClickData"] is True
    assert [(p["person"], p["clicks"], p["humanRiskScore"]) for p in scored["people"]] == [
        ("alice@example.com", 1, 0.0)
    ]
