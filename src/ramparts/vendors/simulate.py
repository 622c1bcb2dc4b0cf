"""`ramparts vendor simulate`: a deterministic ICES vendor played against a running server.

1. Registers the vendor in the control-plane database if needed (SQLite allows a second process) and
   approves it for every tenant; its credentials are kept in data_dir/vendor-<name>.json (mode 0600)
   and re-keyed when they no longer work.
2. Gets a token from /oauth2/token, pages through GET /ices/v1/messages (everything of the last
   `days` days), judges each copy with its own rules, submits verdicts in batches, and prints what
   they did. It judges what is there once and exits.

Its rules (deliberately simple, deterministic):
    Malware                   an attachment named like an executable, or the EICAR test file
    High confidence phishing  a sender or link domain that is a lookalike (0->o, 1->l, rn->m, ...)
                              of the recipient's own domain
    Spam                      bulk mail: a List-Unsubscribe-style link or a bounce-/news/deals sender
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ramparts.config import load_settings
from ramparts.store.db import open_control_plane
from ramparts.store.models import Tenant
from ramparts.vendors import registry
from ramparts.vendors.models import Vendor

EICAR_SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
_EXECUTABLE = re.compile(r"\.(exe|scr|js|vbs|bat|cmd|com|pif|jar|ps1|hta)$", re.IGNORECASE)
_BULK_SENDER = re.compile(r"^(bounce[-+]|news|newsletter|deals|digest|offers|marketing|promo)", re.IGNORECASE)
_CONFUSABLES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("3", "e"), ("5", "s"), ("i", "l"))
BATCH = 500
APPLY_TIMEOUT = 60.0
"""Seconds to wait for the server to apply a submitted verdict."""


@dataclass
class Summary:
    messages: int = 0
    judged: int = 0
    submitted: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    changed_outcome: int = 0
    replayed: int = 0
    not_found: int = 0
    actions: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "judged": self.judged,
            "submitted": self.submitted,
            "verdicts": dict(self.verdicts),
            "changedOutcome": self.changed_outcome,
            "replayed": self.replayed,
            "notFound": self.not_found,
            "actions": dict(self.actions),
        }


def _skeleton(domain: str) -> str:
    text = domain.lower()
    for confusable, plain in _CONFUSABLES:
        text = text.replace(confusable, plain)
    return text


def _registrable(host: str) -> str:
    return ".".join(host.lower().rstrip(".").split(".")[-2:])


def is_lookalike(domain: str, own: str) -> bool:
    """True when `domain` reads like `own` once confusable characters are undone, but is not it."""
    candidate, target = _registrable(domain), _registrable(own)
    return bool(candidate) and candidate != target and _skeleton(candidate) == _skeleton(target)


def judge(message: dict[str, Any]) -> tuple[str, float, dict[str, Any]] | None:
    """The simulated vendor's verdict on one copy: (verdict, confidence, threatDetails) or None."""
    attachments = message.get("attachments", [])
    bad_files = [a for a in attachments if a.get("sha256") == EICAR_SHA256 or _EXECUTABLE.search(a.get("fileName", ""))]
    if bad_files:
        names = [
            "EICAR-Test-File" if a.get("sha256") == EICAR_SHA256 else "Trojan.GenericExecutable" for a in bad_files
        ]
        return (
            "Malware",
            0.99,
            {"threatNames": names, "attachments": bad_files, "explanation": "known-bad or executable attachment"},
        )
    own = message["recipient"].rpartition("@")[2]
    sender_domain = message.get("sender", "").rpartition("@")[2]
    urls: list[str] = message.get("urls", [])
    link_domains = {urlsplit(u).hostname or "" for u in urls}
    lookalike = [d for d in {sender_domain, *link_domains} if d and is_lookalike(d, own)]
    if lookalike:
        concerned = [u for u in urls if (urlsplit(u).hostname or "") in lookalike]
        return (
            "High confidence phishing",
            0.95,
            {
                "threatNames": ["Phish.Lookalike"],
                "urls": concerned[:100],
                "explanation": f"lookalike of {own}: {', '.join(sorted(lookalike))}",
            },
        )
    local = message.get("mailFrom", "").partition("@")[0]
    unsubscribe = [u for u in urls if "unsubscribe" in u.lower()]
    if unsubscribe or _BULK_SENDER.match(local) or _BULK_SENDER.match(message.get("sender", "")):
        return ("Spam", 0.7, {"threatNames": ["Bulk.Marketing"], "explanation": "bulk mail the user did not ask for"})
    return None


def _credentials_path(data_dir: Path, name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "vendor"
    return data_dir / f"vendor-{slug}.json"


def _write_private(path: Path, value: dict[str, str]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(value, handle)
    os.replace(temporary, path)


def ensure_vendor(data_dir: Path, name: str, *, rekey: bool = False) -> tuple[str, str]:
    """(client id, secret) of the simulated vendor, registered and approved for every tenant."""
    path = _credentials_path(data_dir, name)
    sessions = open_control_plane(load_settings(data_dir).control_url)
    try:
        with sessions.begin() as session:
            vendor = session.query(Vendor).filter(Vendor.name == name).one_or_none()
            stored: dict[str, str] | None = None
            if path.exists() and not rekey:
                stored = json.loads(path.read_text())
            if vendor is None:
                vendor, credentials = registry.add_vendor(
                    session, name=name, contact="simulator@ramparts.local", actor="vendor-simulator"
                )
                stored = {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
            elif stored is None or stored.get("client_id") != vendor.client_id:
                credentials = registry.rotate(session, vendor.id, actor="vendor-simulator")
                stored = {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
            if vendor.status != "active":
                registry.reactivate(session, vendor.id, actor="vendor-simulator")
            approved = registry.approved_tenants(session, vendor.id)
            for tenant in session.query(Tenant).order_by(Tenant.name):
                if tenant.id not in approved:
                    registry.approve(session, vendor.id, tenant.id, actor="vendor-simulator")
    finally:
        sessions.kw["bind"].dispose()
    _write_private(path, stored)
    return stored["client_id"], stored["client_secret"]


def _token(client: httpx.Client, client_id: str, secret: str) -> str | None:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = client.post("/oauth2/token", data=form)
    if response.status_code == 401:
        return None
    response.raise_for_status()
    return str(response.json()["access_token"])


def simulate(
    data_dir: Path,
    url: str,
    *,
    vendor_name: str = "Acme ICES",
    days: int = 30,
    transport: httpx.BaseTransport | None = None,
) -> Summary:
    client_id, secret = ensure_vendor(data_dir, vendor_name)
    summary = Summary()
    with httpx.Client(base_url=url.rstrip("/"), timeout=60.0, transport=transport) as client:
        token = _token(client, client_id, secret)
        if token is None:  # the stored secret no longer works (e.g. rotated elsewhere): re-key once
            client_id, secret = ensure_vendor(data_dir, vendor_name, rekey=True)
            token = _token(client, client_id, secret)
        if token is None:
            raise RuntimeError("the simulated vendor cannot get a token")
        headers = {"Authorization": f"Bearer {token}"}
        pending: list[dict[str, Any]] = []
        since = _ago(days)
        next_url: str | None = f"/ices/v1/messages?since={since}&$top=500"
        while next_url:
            response = client.get(next_url, headers=headers)
            response.raise_for_status()
            page = response.json()
            for message in page["value"]:
                summary.messages += 1
                found = judge(message)
                if found is None:
                    continue
                verdict, confidence, details = found
                summary.judged += 1
                summary.verdicts[verdict] += 1
                pending.append(
                    {
                        "vendorVerdictId": _verdict_id(vendor_name, message),
                        "networkMessageId": message["networkMessageId"],
                        "recipient": message["recipient"],
                        "verdict": verdict,
                        "confidence": confidence,
                        "threatDetails": details,
                    }
                )
                if len(pending) >= BATCH:
                    _submit(client, headers, pending, summary)
                    pending = []
            next_url = page.get("@odata.nextLink")
        if pending:
            _submit(client, headers, pending, summary)
    return summary


def _ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _verdict_id(vendor: str, message: dict[str, Any]) -> str:
    basis = f"{vendor}|{message['networkMessageId']}|{message['recipient']}"
    return "sim-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def _submit(client: httpx.Client, headers: dict[str, str], items: list[dict[str, Any]], summary: Summary) -> None:
    response = client.post("/ices/v1/verdicts:batch", headers=headers, json={"verdicts": items})
    response.raise_for_status()
    for answer in response.json()["value"]:
        outcome = _applied(client, headers, answer)
        summary.submitted += 1
        if outcome["status"] == "notFound":
            summary.not_found += 1
            continue
        if outcome.get("replayed"):  # judged before: its stored result is not a new action
            summary.replayed += 1
            continue
        summary.changed_outcome += bool(outcome.get("changedOutcome"))
        for result in outcome.get("results", []):
            if result.get("actionResult"):
                summary.actions[f"{result['action']}: {result['actionResult']}"] += 1


def _applied(client: httpx.Client, headers: dict[str, str], answer: dict[str, Any]) -> dict[str, Any]:
    """The verdict's status once the server applied it (verdicts are applied in the background)."""
    if answer["status"] != "pending":
        return answer
    deadline = time.monotonic() + APPLY_TIMEOUT
    while True:
        response = client.get(f"/ices/v1/verdicts/{answer['id']}", headers=headers)
        response.raise_for_status()
        status: dict[str, Any] = response.json()
        if status["status"] != "pending":
            return {**status, "replayed": answer.get("replayed", False)}
        if time.monotonic() > deadline:
            raise RuntimeError(f"verdict {answer['id']} still pending after {APPLY_TIMEOUT} s")
        time.sleep(0.05)
