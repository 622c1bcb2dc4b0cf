"""`ramparts clicks simulate`: people reading their mail and clicking some of its links, against a running
server, so that time-of-click checks, UrlClickEvents and the human risk score have something real to show.

It reads the Maildir mailboxes of the data directory (Inbox and Junk), picks a share of the messages at
random (seeded), and follows the first checked link of each over HTTP as a mail client would, without
following the redirect to the outside world. Nothing is faked on the server side: each click is judged and
logged by the real click route.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ramparts.delivery.safe_links import CLICK_PATH

_LINK = re.compile(r"https?://\S+" + re.escape(CLICK_PATH) + r"\?[^\s<>\"')]+")
USER_AGENT = "Mozilla/5.0 (ramparts click simulator)"


@dataclass
class ClickSummary:
    messages_read: int = 0
    clicks: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "messagesRead": self.messages_read,
            "clicks": self.clicks,
            "outcomes": dict(self.outcomes),
            "errors": self.errors,
        }


def message_files(mail_dir: Path) -> list[Path]:
    """Every message in every Inbox and Junk folder of the Maildir tree, in a stable order."""
    found = []
    for box in sorted(p for p in mail_dir.iterdir() if p.is_dir()) if mail_dir.exists() else []:
        for folder in (box, box / ".Junk"):
            for sub in ("new", "cur"):
                if (folder / sub).is_dir():
                    found.extend(sorted((folder / sub).iterdir()))
    return found


def first_checked_link(raw: bytes) -> str:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    for part in message.walk():
        if part.is_multipart() or part.is_attachment() or part.get_content_type() != "text/plain":
            continue
        try:
            match = _LINK.search(str(part.get_content()))
        except (LookupError, ValueError):
            continue
        if match:
            return match.group(0).rstrip(".,;:!?")
    return ""


def simulate_clicks(mail_dir: Path, base_url: str, *, share: float, seed: int, timeout: float = 30.0) -> ClickSummary:
    """Click the first checked link of `share` of the messages (0 to 1), through the server at base_url."""
    chooser = random.Random(seed)
    summary = ClickSummary()
    server = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers={"User-Agent": USER_AGENT})
    try:
        for path in message_files(mail_dir):
            summary.messages_read += 1
            if chooser.random() >= share:
                continue
            link = first_checked_link(path.read_bytes())
            if not link:
                continue
            parts = urlsplit(link)
            try:
                answer = server.get(f"{parts.path}?{parts.query}", follow_redirects=False)
            except httpx.HTTPError as exc:
                summary.errors.append(f"{path.name}: {exc}")
                continue
            summary.clicks += 1
            if answer.status_code in (301, 302, 303, 307, 308):
                summary.outcomes["allowed"] += 1
            elif answer.status_code == 200:
                summary.outcomes["blocked"] += 1
            else:
                summary.outcomes[f"HTTP {answer.status_code}"] += 1
    finally:
        server.close()
    return summary
