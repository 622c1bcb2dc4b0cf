"""The verdict names a vendor may send, and how they are read.

Accepted, case and punctuation ignored: Defender's display names ("High confidence phishing"), the
enum member names ("HIGH_CONFIDENCE_PHISH") and their camelCase forms ("highConfidencePhish"), plus
"notSpam" for Clean. Anything else is refused with the list of display names.
"""

from __future__ import annotations

import re

from ramparts.domain.verdicts import Verdict

ALLOWED = tuple(v.value for v in Verdict)
_NOISE = re.compile(r"[^a-z0-9]")


def _key(text: str) -> str:
    return _NOISE.sub("", text.casefold())


_BY_KEY: dict[str, Verdict] = {}
for _verdict in Verdict:
    _BY_KEY[_key(_verdict.value)] = _verdict
    _BY_KEY[_key(_verdict.name)] = _verdict
_BY_KEY["notspam"] = Verdict.CLEAN
_BY_KEY["phish"] = Verdict.PHISH


def parse_verdict(text: str) -> Verdict:
    """The verdict a vendor means; ValueError naming the allowed values otherwise."""
    found = _BY_KEY.get(_key(text))
    if found is None:
        raise ValueError(f"unknown verdict {text!r}; allowed: {', '.join(ALLOWED)}")
    return found
