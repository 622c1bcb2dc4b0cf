"""Synthetic Defender-shaped hunting telemetry for bench/hunting.py, generated vectorised.

Every column is built with numpy draws and pyarrow compute kernels over small vocabularies (no
per-row Python), one batch of messages at a time, so 10M EmailEvents rows take well under a minute.

Shapes follow Defender's advanced-hunting tables:

* EmailEvents: one row per message and recipient (about 1.2 rows per message: most mail has one
  recipient, some 2, 3 or 5); 3 tenants with 5,000 recipients each; sender domains with a long
  (power-law) tail over 50,000 domains; Timestamps over the 30 days before NOW with a day/night cycle,
  distinct per message (so `arg_max(Timestamp, ...)` by recipient has no ties); ThreatTypes "",
  "Spam", "Phish", "Malware", "Phish, Spam", "Malware, Phish" with matching DetectionMethods JSON
  ('{"Phish":["URL malicious reputation","Impersonation domain"]}'), DeliveryAction/Location and
  AuthenticationDetails ('{"SPF":"pass","DKIM":"pass","DMARC":"pass","CompAuth":"pass"}').
* EmailUrlInfo: UrlCount rows per message (mean about 2.4).
* EmailAttachmentInfo: AttachmentCount rows per message and recipient (about 0.3 per EmailEvents row).
* EmailPostDeliveryEvents: ZAP for about 40 % of delivered threats, and a trickle of manual actions.

Columns the benchmark never reads are NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ramparts.telemetry.ddl import arrow_schema
from ramparts.telemetry.schema import TABLES

NOW = dt.datetime(2024, 5, 15, tzinfo=dt.UTC)
SPAN_DAYS = 30
TENANTS = (
    "2f0c6a4e-6a55-4d3c-9d0e-0a6b3c1d9e01",
    "7b1e9c2d-3f4a-4b5c-8d6e-1f2a3b4c5d02",
    "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e03",
)
TENANT_DOMAINS = ("contoso.com", "fabrikam.com", "northwind.example")
TENANT_WEIGHTS = (0.5, 0.3, 0.2)
RECIPIENTS_PER_TENANT = 5_000
SENDER_DOMAINS = 50_000
URL_DOMAINS = 100_000

# Words that Subjects are built from; the has / has_any queries look for some of them.
SUBJECT_WORDS = (
    "invoice", "payment", "password", "account", "verify", "urgent", "action", "required", "update",
    "security", "alert", "delivery", "shipment", "package", "order", "receipt", "refund", "statement",
    "document", "shared", "voicemail", "meeting", "agenda", "report", "quarterly", "budget", "review",
    "contract", "proposal", "signature", "docusign", "wire", "transfer", "bank", "suspended", "locked",
    "expire", "expires", "mailbox", "storage", "quota", "upgrade", "microsoft", "office365", "teams",
    "sharepoint", "onedrive", "login", "confirm", "reset", "gift", "card", "bonus", "salary", "payroll",
    "hr", "benefits", "policy", "tax", "irs", "covid", "vaccine", "survey", "newsletter", "webinar",
    "promotion", "sale", "discount", "offer", "free", "trial", "subscription", "renewal", "license",
    "claim", "prize", "winner", "lottery", "crypto", "bitcoin", "wallet", "project", "lunch", "team",
    "weekly", "sync", "notes", "draft", "feedback", "training", "reminder", "schedule", "calendar",
)  # fmt: skip
SUBJECT_TEMPLATES = (
    "{0} {1}", "{0} {1} {2}", "Your {0} {1}", "{0}: {1} {2}", "Re: {0} {1}", "RE: {0} {1} {2}",
    "FW: {0} {1}", "[EXTERNAL] {0} {1} {2}", "Please review the {0} {1}", "{0}-{1} #{2}",
    "Action required: {0} {1}", "{0}/{1} {2}", "Fwd: {0} for {1}", "{0}_{1} {2}",
)  # fmt: skip
N_SUBJECTS = 20_000
DISPLAY_FIRST = ("Alex", "Sam", "Maria", "John", "Wei", "Priya", "Olga", "Ahmed", "Lena", "Carlos", "Support", "IT")
DISPLAY_LAST = ("Smith", "Chen", "Garcia", "Kumar", "Novak", "Okafor", "Team", "Desk", "Service", "Admin")
LOCALS = (
    "info", "noreply", "no-reply", "support", "billing", "accounts", "hr", "admin", "news", "service",
    "alerts", "security", "notifications", "sales", "contact", "john.smith", "maria.garcia", "wei.chen",
    "priya.kumar", "olga.novak", "bounce", "mailer", "postmaster", "office", "team",
)  # fmt: skip
DOMAIN_WORDS = (
    "acme", "globex", "initech", "umbrella", "stark", "wayne", "wonka", "hooli", "vandelay", "tyrell",
    "cyberdyne", "soylent", "aperture", "massive", "dynamic", "blue", "red", "green", "north", "south",
    "cloud", "secure", "mail", "web", "net", "data", "pay", "bank", "shop", "login", "portal", "office",
)  # fmt: skip
TLDS = ("com", "net", "org", "io", "co.uk", "de", "fr", "xyz", "top", "info", "biz", "ru", "cn", "online")
TLD_WEIGHTS = (0.42, 0.12, 0.08, 0.05, 0.05, 0.05, 0.04, 0.04, 0.03, 0.03, 0.02, 0.03, 0.02, 0.02)

THREATS = ("", "Spam", "Phish", "Malware", "Phish, Spam", "Malware, Phish")
THREAT_WEIGHTS = (0.80, 0.12, 0.05, 0.01, 0.015, 0.005)
METHODS = {
    "Phish": (
        "URL malicious reputation", "Impersonation domain", "Impersonation user", "Spoof external domain",
        "Spoof intra-org", "Advanced filter", "Campaign", "URL detonation reputation", "General filter",
    ),
    "Spam": ("Advanced filter", "Bulk", "Domain reputation", "IP reputation", "Mixed analysis detection"),
    "Malware": ("Antimalware protection", "File detonation", "File detonation reputation", "File reputation"),
}  # fmt: skip
AUTH_VALUES = {
    "SPF": (("pass", "fail", "softfail", "none", "neutral", "temperror"), (0.80, 0.06, 0.06, 0.05, 0.02, 0.01)),
    "DKIM": (("pass", "fail", "none"), (0.78, 0.07, 0.15)),
    "DMARC": (("pass", "fail", "bestguesspass", "none"), (0.72, 0.08, 0.08, 0.12)),
    "CompAuth": (("pass", "fail", "softpass", "none"), (0.80, 0.07, 0.06, 0.07)),
}
DIRECTIONS = ("Inbound", "Outbound", "Intra-org")
DIRECTION_WEIGHTS = (0.85, 0.08, 0.07)
# (DeliveryAction, DeliveryLocation) pairs and, per ThreatTypes, their weights.
DELIVERY = (
    ("Delivered", "Inbox/folder"),
    ("Junked", "Junk folder"),
    ("Blocked", "Quarantine"),
    ("Blocked", "Dropped"),
    ("Delivered", "On-premises/external"),
    ("Replaced", "Inbox/folder"),
)
DELIVERY_WEIGHTS = {
    "": (0.97, 0.01, 0.0, 0.0, 0.02, 0.0),
    "Spam": (0.10, 0.80, 0.08, 0.02, 0.0, 0.0),
    "Phish": (0.20, 0.10, 0.65, 0.05, 0.0, 0.0),
    "Malware": (0.05, 0.0, 0.80, 0.05, 0.0, 0.10),
}
FILE_TYPES = ("pdf", "docx", "xlsx", "zip", "html", "png", "jpg", "exe", "iso", "lnk", "js", "one", "rar", "ics")
FILE_TYPE_WEIGHTS = (0.25, 0.15, 0.12, 0.08, 0.06, 0.12, 0.10, 0.02, 0.02, 0.01, 0.02, 0.01, 0.02, 0.02)
FILE_STEMS = ("invoice", "scan", "document", "statement", "report", "photo", "image001", "payment", "order", "setup")
URL_PATHS = ("login", "verify", "account/update", "s/share", "track", "unsubscribe", "docs/view", "o/oauth2", "")
LANGUAGES = ("en", "de", "fr", "es", "nl", "ja", "zh")


def _choice(rng: np.random.Generator, n: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int32)


def _power_index(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """Indices in [0, size) with a long tail: index 0 most common."""
    return np.minimum((size * rng.random(n) ** exponent).astype(np.int64), size - 1)


def _take(vocab: pa.Array, idx: np.ndarray) -> pa.Array:
    return vocab.take(pa.array(idx))


_HEX_PAIRS = np.array([ord(f"{b:02x}"[0]) | ord(f"{b:02x}"[1]) << 8 for b in range(256)], dtype="<u2")


def _hex_strings(raw: np.ndarray, dashes: bool) -> pa.Array:
    """Rows of random bytes -> lowercase hex strings (GUID layout 8-4-4-4-12 when dashes)."""
    n = raw.shape[0]
    hexed = _HEX_PAIRS[raw].view(np.uint8).reshape(n, -1)
    if dashes:
        out = np.full((n, 36), ord("-"), dtype=np.uint8)
        for src, dst, length in ((0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)):
            out[:, dst : dst + length] = hexed[:, src : src + length]
        hexed = out
    size = hexed.shape[1]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(hexed))]
    )


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _str(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _vocab(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), pa.string())


@dataclass(frozen=True)
class Vocab:
    sender_domains: pa.Array
    url_domains: pa.Array
    subjects: pa.Array
    recipients: pa.Array  # tenant t's recipients are [t * RECIPIENTS_PER_TENANT, (t + 1) * ...)
    recipient_ids: pa.Array
    locals: pa.Array
    display_names: pa.Array
    threats: pa.Array
    methods: pa.Array  # per threat index, METHOD_VARIANTS variants
    auth: pa.Array  # all SPF x DKIM x DMARC x CompAuth combinations
    directions: pa.Array
    delivery_actions: pa.Array
    delivery_locations: pa.Array
    tenants: pa.Array
    tenant_domains: pa.Array
    file_types: pa.Array
    file_stems: pa.Array
    url_paths: pa.Array
    languages: pa.Array


METHOD_VARIANTS = 8


def build_vocab(seed: int) -> Vocab:
    rng = np.random.default_rng(seed)

    def domains(n: int, tld_weights: Sequence[float]) -> list[str]:
        a = _take(_vocab(DOMAIN_WORDS), rng.integers(0, len(DOMAIN_WORDS), n))
        b = _take(_vocab(DOMAIN_WORDS), rng.integers(0, len(DOMAIN_WORDS), n))
        t = _take(_vocab(TLDS), _choice(rng, n, tld_weights))
        names: list[str] = _join(a, b, _str(np.arange(n)), ".", t).to_pylist()
        names[:10] = [f"{w}.com" for w in ("microsoft", "google", "amazon", "linkedin", "salesforce",
                                             "docusign", "zoom", "dropbox", "paypal", "github")]  # fmt: skip
        return names

    subject_words = np.array(SUBJECT_WORDS)
    templates = rng.integers(0, len(SUBJECT_TEMPLATES), N_SUBJECTS)
    picks = rng.integers(0, len(subject_words), (N_SUBJECTS, 3))
    numbers = rng.integers(100, 99_999, N_SUBJECTS)
    subjects = []
    for i in range(N_SUBJECTS):
        w = subject_words[picks[i]]
        third = str(numbers[i]) if i % 3 == 0 else w[2]
        subjects.append(SUBJECT_TEMPLATES[templates[i]].format(w[0].capitalize(), w[1], third))
    recipients, recipient_ids = [], []
    firsts, lasts = np.array(DISPLAY_FIRST), np.array(DISPLAY_LAST)
    for t, domain in enumerate(TENANT_DOMAINS):
        for r in range(RECIPIENTS_PER_TENANT):
            recipients.append(f"{firsts[r % len(firsts)].lower()}.{lasts[r // 7 % len(lasts)].lower()}{r}@{domain}")
            recipient_ids.append(f"{t:08x}-0000-4000-8000-{r:012x}")
    display = [f"{f} {last}" for f in DISPLAY_FIRST for last in DISPLAY_LAST]
    methods: list[str] = []
    for threat in THREATS:
        for _ in range(METHOD_VARIANTS):
            if not threat:
                methods.append("")
                continue
            parts = []
            for kind in sorted(threat.split(", ")):
                pool = METHODS[kind]
                k = int(rng.integers(1, 3))
                chosen = [pool[j] for j in sorted(rng.choice(len(pool), k, replace=False))]
                parts.append('"' + kind + '":[' + ",".join(f'"{c}"' for c in chosen) + "]")
            methods.append("{" + ",".join(parts) + "}")
    auth = [
        f'{{"SPF":"{s}","DKIM":"{d}","DMARC":"{m}","CompAuth":"{c}"}}'
        for s in AUTH_VALUES["SPF"][0]
        for d in AUTH_VALUES["DKIM"][0]
        for m in AUTH_VALUES["DMARC"][0]
        for c in AUTH_VALUES["CompAuth"][0]
    ]
    return Vocab(
        sender_domains=_vocab(domains(SENDER_DOMAINS, TLD_WEIGHTS)),
        url_domains=_vocab(domains(URL_DOMAINS, TLD_WEIGHTS)),
        subjects=_vocab(subjects),
        recipients=_vocab(recipients),
        recipient_ids=_vocab(recipient_ids),
        locals=_vocab(LOCALS),
        display_names=_vocab(display),
        threats=_vocab(THREATS),
        methods=_vocab(methods),
        auth=_vocab(auth),
        directions=_vocab(DIRECTIONS),
        delivery_actions=_vocab([a for a, _ in DELIVERY]),
        delivery_locations=_vocab([loc for _, loc in DELIVERY]),
        tenants=_vocab(TENANTS),
        tenant_domains=_vocab(TENANT_DOMAINS),
        file_types=_vocab(FILE_TYPES),
        file_stems=_vocab(FILE_STEMS),
        url_paths=_vocab(URL_PATHS),
        languages=_vocab(LANGUAGES),
    )


def _table(name: str, n: int, columns: dict[str, pa.Array]) -> pa.Table:
    schema = arrow_schema(TABLES[name])
    arrays = []
    for field in schema:
        column = columns.get(field.name)
        arrays.append(pa.nulls(n, field.type) if column is None else column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


@dataclass(frozen=True)
class Batch:
    events: pa.Table
    urls: pa.Table
    attachments: pa.Table
    post_delivery: pa.Table


FANOUT = (1, 2, 3, 5)
FANOUT_WEIGHTS = (0.88, 0.07, 0.03, 0.02)
MEAN_FANOUT = sum(f * w for f, w in zip(FANOUT, FANOUT_WEIGHTS, strict=True)) / sum(FANOUT_WEIGHTS)


def _timestamps(rng: np.random.Generator, first: int, count: int, total: int) -> np.ndarray:
    """Microseconds since the span's start for messages first..first+count of total: one slot per
    message (so no two messages share a Timestamp), warped by a day/night cycle (monotone)."""
    span = SPAN_DAYS * 86_400_000_000
    step = span / total
    u = (np.arange(first, first + count) + rng.random(count) * 0.5) * step
    day = 86_400_000_000
    warped = u + 0.6 * np.sin(2 * np.pi * u / day) * day / (2 * np.pi)
    return np.clip(warped, 0, span - 1).astype(np.int64)


def _batch(vocab: Vocab, rng: np.random.Generator, first: int, fanout: np.ndarray, total: int, rows_left: int) -> Batch:
    m = len(fanout)
    start_us = int((NOW - dt.timedelta(days=SPAN_DAYS)).timestamp() * 1_000_000)
    ts_msg = start_us + _timestamps(rng, first, m, total)
    tenant = _choice(rng, m, TENANT_WEIGHTS)
    threat = _choice(rng, m, THREAT_WEIGHTS)
    base_threat = np.array([0, 1, 2, 3, 2, 3])[threat]  # which delivery/auth profile: clean, spam, phish, malware
    sender_dom = _power_index(rng, m, SENDER_DOMAINS, 3.0)
    # Threats come more often from the long tail.
    tail = base_threat > 0
    sender_dom[tail] = _power_index(rng, int(tail.sum()), SENDER_DOMAINS, 1.2)
    local = _power_index(rng, m, len(LOCALS), 1.5)
    direction = _choice(rng, m, DIRECTION_WEIGHTS)
    delivery = np.empty(m, dtype=np.int32)
    for k, key in enumerate(("", "Spam", "Phish", "Malware")):
        sel = base_threat == k
        delivery[sel] = _choice(rng, int(sel.sum()), DELIVERY_WEIGHTS[key])
    auth_idx = np.zeros(m, dtype=np.int64)
    for values, weights in AUTH_VALUES.values():
        w = np.asarray(weights)
        draw = _choice(rng, m, w)
        bad = _choice(rng, m, np.r_[w[:1] * 0.3, w[1:] * 3])  # threats fail auth more often
        draw = np.where(base_threat > 0, bad, draw)
        auth_idx = auth_idx * len(values) + draw
    subject = _power_index(rng, m, N_SUBJECTS, 1.5)
    method = threat * METHOD_VARIANTS + rng.integers(0, METHOD_VARIANTS, m)
    url_count = np.minimum(rng.poisson(2.4, m), 12).astype(np.int32)
    attach_count = _choice(rng, m, (0.78, 0.17, 0.04, 0.01))
    attach_count[base_threat == 3] = np.maximum(attach_count[base_threat == 3], 1)

    # ---- message -> rows (one per recipient)
    msg_of_row = np.repeat(np.arange(m), fanout)
    if len(msg_of_row) > rows_left:
        msg_of_row = msg_of_row[:rows_left]
    n = len(msg_of_row)
    first_row = np.r_[0, np.cumsum(fanout)[:-1]]
    within = np.arange(n) - first_row[msg_of_row]
    rec_base = _power_index(rng, m, RECIPIENTS_PER_TENANT, 1.3)
    rec_local = (rec_base[msg_of_row] + within * 977) % RECIPIENTS_PER_TENANT  # distinct within a message
    rec = tenant[msg_of_row] * RECIPIENTS_PER_TENANT + rec_local

    guids = _hex_strings(rng.integers(0, 256, (m, 16), dtype=np.uint8), dashes=True)
    sender_domain = _take(vocab.sender_domains, sender_dom)
    sender_from = _join(_take(vocab.locals, local), "@", sender_domain)
    mail_from_local = np.where(rng.random(m) < 0.7, local, LOCALS.index("bounce"))
    sender_mail_from = _join(_take(vocab.locals, mail_from_local), "@", sender_domain)
    internet_id = _join("<", _hex_strings(rng.integers(0, 256, (m, 8), dtype=np.uint8), dashes=False), "@",
                        sender_domain, ">")  # fmt: skip
    ip = rng.integers(1, 255, (m, 4))
    sender_ip = _join(_str(ip[:, 0]), ".", _str(ip[:, 1]), ".", _str(ip[:, 2]), ".", _str(ip[:, 3]))
    threats = _take(vocab.threats, threat)

    def per_row(array: pa.Array) -> pa.Array:
        return array.take(pa.array(msg_of_row))

    ts = pa.array(ts_msg, pa.timestamp("us", tz="UTC"))
    events = _table(
        "EmailEvents",
        n,
        {
            "Timestamp": per_row(ts),
            "NetworkMessageId": per_row(guids),
            "InternetMessageId": per_row(internet_id),
            "SenderMailFromAddress": per_row(sender_mail_from),
            "SenderFromAddress": per_row(sender_from),
            "SenderDisplayName": per_row(_take(vocab.display_names, rng.integers(0, len(vocab.display_names), m))),
            "SenderMailFromDomain": per_row(sender_domain),
            "SenderFromDomain": per_row(sender_domain),
            "SenderIPv4": per_row(sender_ip),
            "RecipientEmailAddress": _take(vocab.recipients, rec),
            "RecipientObjectId": _take(vocab.recipient_ids, rec),
            "Subject": per_row(_take(vocab.subjects, subject)),
            "EmailClusterId": pa.array(rng.integers(1, 10**12, m)[msg_of_row]),
            "EmailDirection": per_row(_take(vocab.directions, direction)),
            "DeliveryAction": per_row(_take(vocab.delivery_actions, delivery)),
            "DeliveryLocation": per_row(_take(vocab.delivery_locations, delivery)),
            "ThreatTypes": per_row(threats),
            "DetectionMethods": per_row(_take(vocab.methods, method)),
            "BulkComplaintLevel": pa.array(rng.integers(0, 10, m)[msg_of_row].astype(np.int32)),
            "AuthenticationDetails": per_row(_take(vocab.auth, auth_idx)),
            "AttachmentCount": pa.array(attach_count[msg_of_row]),
            "UrlCount": pa.array(url_count[msg_of_row]),
            "EmailLanguage": per_row(
                _take(vocab.languages, _choice(rng, m, (0.7, 0.08, 0.06, 0.06, 0.04, 0.03, 0.03)))
            ),
            "ReportId": _join(per_row(guids), "-", _str(within)),
            "RecipientDomain": _take(vocab.tenant_domains, tenant[msg_of_row]),
            "EmailSize": pa.array(rng.lognormal(10.5, 1.2, m).astype(np.int64)[msg_of_row]),
            "IsFirstContact": pa.array((rng.random(m) < 0.1).astype(np.int32)[msg_of_row]),
            "TenantId": _take(vocab.tenants, tenant[msg_of_row]),
        },
    )
    msgs_used = int(msg_of_row[-1]) + 1 if n else 0

    # ---- EmailUrlInfo: UrlCount rows per message
    uc = url_count[:msgs_used]
    url_msg = np.repeat(np.arange(msgs_used), uc)
    nu = len(url_msg)
    url_dom = _power_index(rng, nu, URL_DOMAINS, 2.5)
    # Threat URLs: mostly from the tail and the cheap TLDs.
    bad = base_threat[url_msg] > 0
    url_dom[bad] = _power_index(rng, int(bad.sum()), URL_DOMAINS, 1.0)
    url_domain = _take(vocab.url_domains, url_dom)
    url_token = _hex_strings(rng.integers(0, 256, (nu, 4), dtype=np.uint8), dashes=False)
    url = _join("https://", url_domain, "/", _take(vocab.url_paths, rng.integers(0, len(URL_PATHS), nu)), "?id=",
                url_token)  # fmt: skip
    loc = _choice(rng, nu, (0.9, 0.04, 0.06))
    urls = _table(
        "EmailUrlInfo",
        nu,
        {
            "Timestamp": ts.take(pa.array(url_msg)),
            "NetworkMessageId": guids.take(pa.array(url_msg)),
            "Url": url,
            "UrlDomain": url_domain,
            "UrlLocation": _take(_vocab(("Body", "Subject", "Attachment")), loc),
            "UrlChainPosition": pa.array(np.zeros(nu, dtype=np.int32)),
            "ReportId": _join(guids.take(pa.array(url_msg)), "-u", _str(np.arange(nu) % 13)),
            "TenantId": _take(vocab.tenants, tenant[url_msg]),
        },
    )

    # ---- EmailAttachmentInfo: AttachmentCount rows per message and recipient
    ac = attach_count[msg_of_row]
    att_row = np.repeat(np.arange(n), ac)
    na = len(att_row)
    att_msg = msg_of_row[att_row]
    att_no = np.arange(na) - np.r_[0, np.cumsum(ac)[:-1]][att_row]
    # The same file for every recipient of a message: derive its properties from (message, number).
    key = (att_msg.astype(np.int64) + first) * 7 + att_no
    ftype = np.asarray(np.searchsorted(np.cumsum(FILE_TYPE_WEIGHTS) / sum(FILE_TYPE_WEIGHTS),
                                       (key * 2654435761 % 1_000_003) / 1_000_003, side="right"))  # fmt: skip
    ftype = np.minimum(ftype, len(FILE_TYPES) - 1)
    is_malware = base_threat[att_msg] == 3
    files, file_of_att = np.unique(att_msg * 4 + att_no, return_inverse=True)
    sha = _hex_strings(rng.integers(0, 256, (len(files), 32), dtype=np.uint8), dashes=False).take(pa.array(file_of_att))
    file_type = _take(vocab.file_types, ftype)
    attachments = _table(
        "EmailAttachmentInfo",
        na,
        {
            "Timestamp": ts.take(pa.array(att_msg)),
            "NetworkMessageId": guids.take(pa.array(att_msg)),
            "SenderFromAddress": sender_from.take(pa.array(att_msg)),
            "SenderDisplayName": events.column("SenderDisplayName").combine_chunks().take(pa.array(att_row)),
            "RecipientEmailAddress": events.column("RecipientEmailAddress").combine_chunks().take(pa.array(att_row)),
            "RecipientObjectId": events.column("RecipientObjectId").combine_chunks().take(pa.array(att_row)),
            "FileName": _join(_take(vocab.file_stems, key % len(FILE_STEMS)), "_", _str(key % 9973), ".", file_type),
            "FileType": file_type,
            "SHA256": sha,
            "FileSize": pa.array((key * 48271 % 5_000_000 + 1_000).astype(np.int64)),
            "ThreatTypes": _take(vocab.threats, np.where(is_malware, 3, 0)),
            "DetectionMethods": _take(vocab.methods, np.where(is_malware, 3 * METHOD_VARIANTS, 0)),
            "ReportId": _join(guids.take(pa.array(att_msg)), "-a", _str(att_no)),
            "TenantId": _take(vocab.tenants, tenant[att_msg]),
        },
    )

    # ---- EmailPostDeliveryEvents: ZAP of ~40 % of delivered threats, manual actions on 0.2 % of rows
    delivered = (np.asarray(DELIVERY, dtype=object)[:, 0] == "Delivered")[delivery[msg_of_row]]
    row_threat = base_threat[msg_of_row]
    zap = delivered & (row_threat > 0) & (rng.random(n) < 0.4)
    manual = rng.random(n) < 0.002
    pick = np.flatnonzero(zap | manual)
    action_type = np.where(zap[pick], row_threat[pick], 4)
    action_types = _vocab(("Manual Remediation", "Spam ZAP", "Phish ZAP", "Malware ZAP", "Manual Remediation"))
    delay = rng.integers(60, 6 * 3600, len(pick)) * 1_000_000
    post = _table(
        "EmailPostDeliveryEvents",
        len(pick),
        {
            "Timestamp": pa.array(ts_msg[msg_of_row[pick]] + delay, pa.timestamp("us", tz="UTC")),
            "NetworkMessageId": guids.take(pa.array(msg_of_row[pick])),
            "InternetMessageId": internet_id.take(pa.array(msg_of_row[pick])),
            "Action": _take(_vocab(("Moved to quarantine", "Moved to junk folder", "Soft delete")), pick % 3),
            "ActionType": _take(action_types, action_type),
            "ActionTrigger": _take(_vocab(("SpecialAction", "AdminAction")), (action_type == 4).astype(np.int64)),
            "ActionResult": _take(_vocab(("Success", "Error")), (pick % 50 == 0).astype(np.int64)),
            "RecipientEmailAddress": events.column("RecipientEmailAddress").combine_chunks().take(pa.array(pick)),
            "DeliveryLocation": _take(_vocab(("Quarantine", "Junk folder")), pick % 2),
            "ThreatTypes": events.column("ThreatTypes").combine_chunks().take(pa.array(pick)),
            "SenderFromAddress": events.column("SenderFromAddress").combine_chunks().take(pa.array(pick)),
            "EmailDirection": events.column("EmailDirection").combine_chunks().take(pa.array(pick)),
            "TenantId": events.column("TenantId").combine_chunks().take(pa.array(pick)),
        },
    )
    return Batch(events, urls, attachments, post)


def seed_of(first: int) -> int:
    return 1_000_003 * (first + 1) + 17


def generate(rows: int, *, seed: int = 7, batch_messages: int = 1_000_000) -> Iterator[Batch]:
    """EmailEvents rows (exactly `rows`) and the URL, attachment and post-delivery rows to match,
    in batches of about `batch_messages` messages, oldest first."""
    vocab = build_vocab(seed)
    rng = np.random.default_rng(seed)
    fanout = np.asarray(FANOUT)[_choice(rng, int(rows / MEAN_FANOUT * 1.1) + 10, FANOUT_WEIGHTS)]
    total_messages = int(np.searchsorted(np.cumsum(fanout), rows)) + 1
    fanout = fanout[:total_messages]
    first = 0
    left = rows
    while left > 0:
        count = min(batch_messages, total_messages - first)
        batch_rng = np.random.default_rng(seed_of(first) + seed)
        batch = _batch(vocab, batch_rng, first, fanout[first : first + count], total_messages, left)
        left -= batch.events.num_rows
        first += count
        yield batch
