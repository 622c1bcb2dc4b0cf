"""The click route of rewritten links: check the link now, log the click in UrlClickEvents, then send the
user on or show a warning page.

A click is blocked when the tenant blocks the URL or its domain (ClickBlockedByTenantPolicy), or when the
message it came from is now judged malicious or phishing for that recipient, e.g. after a later vendor
verdict or ZAP (ClickBlocked). There is no way past the warning: Standard and Strict turn click-through
off. The link's signature is checked first, so the route redirects only to URLs ramparts itself wrapped;
it needs no login, as a mail client's click carries none.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from ramparts.api.auth import services_of
from ramparts.delivery import safe_links
from ramparts.detection.builtin.lists import url_matches
from ramparts.domain.verdicts import Verdict
from ramparts.errors import InvalidInput
from ramparts.hunting_service import SlidingWindowLimiter, shared_limiter
from ramparts.services import Services
from ramparts.store.models import ListEntry, MessageCopy

router = APIRouter(tags=["safe links"])
CLICKS_PER_MINUTE = 120
"""Per client address: a person clicks far less; a script hammering the route (to probe verdicts or flood
UrlClickEvents) gets 429."""
_LIMITER = "safe_links.limiter"


def _limiter(services: Services) -> SlidingWindowLimiter:
    return shared_limiter(
        services.extras, _LIMITER, lambda: SlidingWindowLimiter(CLICKS_PER_MINUTE, what="link clicks")
    )


MALICIOUS = {Verdict.MALWARE.value, Verdict.HIGH_CONFIDENCE_PHISH.value, Verdict.PHISH.value}
_WARNING = """<!doctype html><html><head><meta charset="utf-8"><title>Blocked: this link is unsafe</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto"><h1>This link has been blocked</h1>
<p>{reason}</p><p>The link went to:</p><pre style="white-space: pre-wrap; word-break: break-all">{url}</pre>
<p>If you think this is a mistake, contact your security team.</p></body></html>"""


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].split("@")[-1].split(":")[0].lower()


def _verdict(services: Services, url: str, nmid: str, recipient: str, tenant_id: str) -> tuple[str, str, str]:
    """(ActionType, ThreatTypes, why) for a click now."""
    with services.sessions() as session:
        blocked = session.scalars(
            select(ListEntry.value).where(
                ListEntry.tenant_id == tenant_id, ListEntry.action == "block", ListEntry.kind.in_(("url", "domain"))
            )
        ).all()
        entry = url_matches(url, _host(url), blocked)
        if entry:
            return "ClickBlockedByTenantPolicy", "", f"Your organisation blocks this address ({entry})."
        copy = session.get(MessageCopy, (nmid, recipient))
        if copy is not None and copy.tenant_id == tenant_id and copy.verdict in MALICIOUS:
            threat = Verdict(copy.verdict).threat_type
            return "ClickBlocked", threat, f"The message this link came from has since been found to be {copy.verdict}."
    return "ClickAllowed", "", ""


@router.get(safe_links.CLICK_PATH, include_in_schema=True)
def click(request: Request, url: str = "", n: str = "", r: str = "", t: str = "", s: str = "") -> Response:
    """Follow a rewritten link."""
    services = services_of(request)
    client = request.client.host if request.client else ""
    _limiter(services).hit(client, services.clock())
    key = safe_links.load_key(services.settings.data_dir)
    if not (url and n and r and t and s) or not safe_links.verify(key, url, n, r, t, s):
        raise InvalidInput("this link is not one ramparts wrote (or it was changed)")
    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInput("only web links are followed")
    action, threats, reason = _verdict(services, url, n, r.lower(), t)
    now = services.clock()
    row: dict[str, Any] = {
        "Timestamp": now.astimezone(dt.UTC),
        "Url": url,
        "ActionType": action,
        "AccountUpn": r.lower(),
        "Workload": "Email",
        "NetworkMessageId": n,
        "ThreatTypes": threats,
        "DetectionMethods": "",
        "IPAddress": client,
        "IsClickedThrough": False,
        "UrlChain": url,
        "ReportId": str(uuid.uuid4()),
        "AppName": request.headers.get("user-agent", "")[:200],
        "AppVersion": "",
        "SourceId": "",
        "TenantId": t,
    }
    services.writer.add({"UrlClickEvents": [row]})
    if action == "ClickAllowed":
        return RedirectResponse(url, status_code=302, headers={"Referrer-Policy": "no-referrer"})
    page = _WARNING.format(reason=html.escape(reason), url=html.escape(url))
    headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'", "Cache-Control": "no-store"}
    return HTMLResponse(page, status_code=200, headers=headers)
