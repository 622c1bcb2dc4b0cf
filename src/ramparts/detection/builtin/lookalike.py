"""Lookalike names: domains that imitate a protected domain, display names that imitate a person.

A domain imitates a protected one when, compared at the organizational level (last two labels, as in
dmarc.py), it
- has the same "skeleton" once confusable characters are folded (0->o, 1->l, rn->m, vv->w, Cyrillic and
  Greek letters that look Latin, punycode decoded first): "c0ntoso.com", "xn--cntoso-...";
- is one or two edits away (Damerau-Levenshtein) from a stem of 5+ letters (two edits need 8+): "contosso.com";
- contains the protected stem plus other words: "contoso-secure.com", "securecontoso.net";
- has the protected stem under another top-level domain: "contoso.net" for "contoso.com";
- carries the whole protected domain as its left part: "contoso.com.account-check.net".
Callers skip candidates that are themselves accepted domains of the tenant.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata

from ramparts.detection.builtin.dmarc import organizational_domain

_CONFUSABLES = str.maketrans(
    {
        "0": "o", "1": "l", "3": "e", "5": "s", "|": "l", "!": "l",
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
        "ԁ": "d", "һ": "h", "ӏ": "l", "ɡ": "g", "ո": "n", "ս": "u", "ѕ": "s", "к": "k", "м": "m", "т": "t",
        "ο": "o", "α": "a", "ν": "v", "ρ": "p", "ι": "i", "κ": "k", "τ": "t", "ε": "e", "υ": "u",
    }
)  # fmt: skip
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def to_unicode(domain: str) -> str:
    labels = []
    for label in domain.lower().rstrip(".").split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def skeleton(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text.lower()).translate(_CONFUSABLES)
    folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    for pair, single in _MULTI:
        folded = folded.replace(pair, single)
    return folded


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment), stopping early once past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def within_one_edit(a: str, b: str) -> bool:
    """edit_distance(a, b) <= 1, without the table: one substitution, insertion or transposition."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        swapped = a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
        return a[i + 1 :] == b[i + 1 :] or swapped
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1 :] == shorter[i:]


def _stem(org_domain: str) -> str:
    return org_domain.rpartition(".")[0] or org_domain


@functools.lru_cache(maxsize=8192)
def imitates(candidate: str, protected: str) -> str:
    """Why `candidate` imitates `protected` ("" when it does not, or when it is that domain)."""
    candidate, protected = candidate.lower().rstrip("."), protected.lower().rstrip(".")
    if not candidate or not protected or candidate == protected or candidate.endswith("." + protected):
        return ""
    if candidate.startswith(protected + "."):
        return f"{candidate} starts with the protected domain {protected}"
    shown = to_unicode(candidate)
    cand_org, prot_org = organizational_domain(shown), organizational_domain(protected)
    if cand_org == prot_org:
        return ""
    cand_stem, prot_stem = _stem(cand_org), _stem(prot_org)
    if skeleton(cand_org) == skeleton(prot_org) or (
        skeleton(cand_stem) == skeleton(prot_stem) and cand_stem != prot_stem
    ):
        return f"{candidate} uses look-alike characters for {protected}"
    distance = edit_distance(cand_stem, prot_stem, 2)
    if (distance == 1 and len(prot_stem) >= 5) or (distance == 2 and len(prot_stem) >= 8):
        return f"{candidate} is {distance} edit{'s' if distance > 1 else ''} away from {protected}"
    if cand_stem == prot_stem:
        return f"{candidate} has the protected name {prot_stem} under another top-level domain"
    if len(prot_stem) >= 4 and skeleton(prot_stem) in _NON_ALNUM.sub("", skeleton(cand_stem)):
        return f"{candidate} contains the protected name {prot_stem}"
    return ""


@functools.lru_cache(maxsize=8192)
def normalise_name(name: str) -> tuple[str, str]:
    """(comparison form, its skeleton): case-folded, accents and punctuation removed, words sorted."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    if not folded.isascii():
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    plain = " ".join(sorted(_NON_ALNUM.sub(" ", folded).split()))
    return plain, skeleton(plain)


def similar_names(a: str, b: str) -> bool:
    (left, left_skeleton), (right, right_skeleton) = normalise_name(a), normalise_name(b)
    if not left or " " not in right:
        return False  # a one-word name ("Finance") is too common to call an impersonation
    if left == right:
        return True
    if len(right) < 8:
        return False
    return within_one_edit(left_skeleton, right_skeleton)
