"""The real-query corpus (../shared/kql-corpus/dev.jsonl) and how its results are compared."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "kql-corpus" / "dev.jsonl"
EMAIL_TABLES = frozenset(
    {"EmailEvents", "EmailUrlInfo", "EmailAttachmentInfo", "EmailPostDeliveryEvents", "UrlClickEvents"}
)


def load_corpus() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        return []
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm_value(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, list):
        items = [_norm_value(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, dict):
        return {k: _norm_value(v) for k, v in value.items()}
    return value


def normalize(rows: list[dict[str, Any]], ordered: bool = False) -> list[str]:
    """Rows as comparable text: arrays compared as sets (make_list/make_set order is unspecified)."""
    out = [json.dumps(_norm_value(row), sort_keys=True, default=str) for row in rows]
    return out if ordered else sorted(out)
