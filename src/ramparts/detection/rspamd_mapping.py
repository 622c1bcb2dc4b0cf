"""rspamd's /checkv2 reply, read into dataclasses, and the configurable rule that turns it into a verdict. Pure.

How a reply becomes a verdict (the most serious of the three sources wins):

1. Symbol rules: a symbol in the reply that matches a rule (exact name or `fnmatch` glob, case-sensitive)
   proposes the rule's verdict, technology label and confidence. Defaults: antivirus symbols -> Malware,
   known-phishing symbols -> Phishing, DMARC p=reject failure -> Phishing ("Spoof DMARC"),
   GTUBE -> High confidence spam.
2. The action rspamd chose: `reject`/`discard` -> High confidence spam; `add header`/`rewrite subject`/
   `quarantine` -> Spam; `greylist`, `soft reject`, `no action` -> Clean. Greylist and soft reject are
   Clean on purpose: rspamd uses them to delay mail it is unsure about (or is rate-limiting), which is a
   temporary SMTP answer and not a judgement; ramparts has already accepted the message, so it only acts on
   a score that reaches `add header`. Unknown custom actions propose nothing.
3. Optional absolute score thresholds (`spam_score`, `high_confidence_spam_score`), for deployments whose
   rspamd actions do not match what ramparts should do.

Spam confidence level (SCL) comes from the score against `required_score` (rspamd's reject threshold):
9 at or above it, 6 from `scl6_ratio` of it, 5 from `scl5_ratio`, then 1 for any positive score and 0
otherwise; a Spam verdict is at least 5 and a High confidence spam verdict 9, a Clean one at most 1, and a
message rspamd skipped with no verdict is -1.
"""

from __future__ import annotations

import fnmatch
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict, most_serious
from ramparts.errors import ConfigError

# Defender detection-technology labels used by the default mapping.
MIXED_ANALYSIS = "Mixed analysis detection"
ANTIMALWARE = "Antimalware protection"
SPOOF_DMARC = "Spoof DMARC"
URL_REPUTATION = "URL malicious reputation"
GENERAL_FILTER = "General filter"
FINGERPRINT = "Fingerprint matching"
IP_REPUTATION = "IP reputation"
DOMAIN_REPUTATION = "Domain reputation"
ADVANCED_FILTER = "Advanced filter"


class ReplyError(ValueError):
    """The peer's answer is not an rspamd /checkv2 reply (not JSON, wrong shape)."""


@dataclass(frozen=True, slots=True)
class RspamdSymbol:
    name: str
    score: float
    description: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RspamdReply:
    action: str
    score: float
    required_score: float
    symbols: tuple[RspamdSymbol, ...]
    is_skipped: bool = False
    smtp_message: str = ""
    message_id: str = ""
    time_real: float | None = None


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReplyError(f"{key!r} is {value!r}, not a number")
    return float(value)


def parse_reply(body: bytes) -> RspamdReply:
    """Read a /checkv2 JSON body; raises ReplyError naming what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        snippet = body[:80].decode("utf-8", "replace")
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ReplyError(f"invalid JSON ({reason}): {snippet!r}") from None
    if not isinstance(data, dict):
        raise ReplyError(f"a JSON {type(data).__name__}, not an object")
    if "error" in data and "action" not in data:
        raise ReplyError(f"error {data['error']!r}")
    for key in ("action", "score"):
        if key not in data:
            raise ReplyError(f"no {key!r} key")
    action = data["action"]
    if not isinstance(action, str):
        raise ReplyError(f"'action' is {action!r}, not a string")
    score = _number(data["score"], "score")
    required = _number(data.get("required_score", 0.0), "required_score")
    raw_symbols = data.get("symbols") or {}
    if not isinstance(raw_symbols, dict):
        raise ReplyError("'symbols' is not an object")
    symbols: list[RspamdSymbol] = []
    for name, item in raw_symbols.items():
        if not isinstance(item, dict):
            raise ReplyError(f"symbol {name!r} is not an object")
        options = item.get("options") or []
        symbols.append(
            RspamdSymbol(
                name=str(name),
                score=_number(item.get("score", 0.0), f"symbols.{name}.score"),
                description=str(item.get("description", "")),
                options=tuple(str(option) for option in options) if isinstance(options, list) else (),
            )
        )
    messages = data.get("messages")
    smtp_message = str(messages.get("smtp_message", "")) if isinstance(messages, dict) else ""
    time_real = data.get("time_real")
    return RspamdReply(
        action=action,
        score=score,
        required_score=required,
        symbols=tuple(symbols),
        is_skipped=bool(data.get("is_skipped", False)),
        smtp_message=smtp_message,
        message_id=str(data.get("message-id", "")),
        time_real=float(time_real) if isinstance(time_real, int | float) else None,
    )


@dataclass(frozen=True, slots=True)
class SymbolRule:
    """A symbol (or glob of symbols) that decides a verdict whatever the score."""

    match: str
    verdict: Verdict
    technology: str
    confidence: float = 0.9
    policy_family: str = ""
    """EmailActionPolicy value; "" = derived from the verdict."""

    def matches(self, symbol: str) -> bool:
        return fnmatch.fnmatchcase(symbol, self.match)


DEFAULT_SYMBOL_RULES: tuple[SymbolRule, ...] = (
    # antivirus module (ClamAV, Sophos, F-Prot, Kaspersky, Avast, ESET, ICAP...): options carry the virus name
    SymbolRule("*_VIRUS", Verdict.MALWARE, ANTIMALWARE, 0.95),
    SymbolRule("VIRUSTOTAL_HIGH", Verdict.MALWARE, "File reputation", 0.9),
    SymbolRule("GTUBE", Verdict.HIGH_CONFIDENCE_SPAM, GENERAL_FILTER, 1.0),
    SymbolRule("PHISHED_OPENPHISH", Verdict.PHISH, URL_REPUTATION, 0.9),
    SymbolRule("PHISHED_PHISHTANK", Verdict.PHISH, URL_REPUTATION, 0.9),
    SymbolRule("PHISHING", Verdict.PHISH, GENERAL_FILTER, 0.6),
    SymbolRule("DBL_PHISH", Verdict.PHISH, URL_REPUTATION, 0.85),
    SymbolRule("PH_SURBL_MULTI", Verdict.PHISH, URL_REPUTATION, 0.85),
    SymbolRule("DMARC_POLICY_REJECT", Verdict.PHISH, SPOOF_DMARC, 0.8, EmailActionPolicy.ANTIPHISH_SPOOF.value),
    SymbolRule("DMARC_POLICY_QUARANTINE", Verdict.SPAM, SPOOF_DMARC, 0.7, EmailActionPolicy.ANTIPHISH_SPOOF.value),
)

DEFAULT_ACTIONS: Mapping[str, Verdict] = {
    "reject": Verdict.HIGH_CONFIDENCE_SPAM,
    "discard": Verdict.HIGH_CONFIDENCE_SPAM,
    "rewrite subject": Verdict.SPAM,
    "add header": Verdict.SPAM,
    "quarantine": Verdict.SPAM,
    "soft reject": Verdict.CLEAN,
    "greylist": Verdict.CLEAN,
    "no action": Verdict.CLEAN,
}

DEFAULT_TECHNOLOGIES: tuple[tuple[str, str], ...] = (
    # symbol glob -> extra Defender label for score-based verdicts, when the symbol scored above zero
    ("BAYES_SPAM", ADVANCED_FILTER),
    ("NEURAL_SPAM*", ADVANCED_FILTER),
    ("FUZZY_DENIED", FINGERPRINT),
    ("FUZZY_*SPAM*", FINGERPRINT),
    ("RBL_*", IP_REPUTATION),
    ("RECEIVED_SPAMHAUS*", IP_REPUTATION),
    ("RECEIVED_*BL*", IP_REPUTATION),
    ("URIBL_*", URL_REPUTATION),
    ("SURBL_*", URL_REPUTATION),
    ("DBL_*", DOMAIN_REPUTATION),
    ("RSPAMD_URIBL*", URL_REPUTATION),
    ("RSPAMD_EMAILBL", DOMAIN_REPUTATION),
)

_FAMILY = {
    Verdict.MALWARE: EmailActionPolicy.ANTIMALWARE.value,
    Verdict.HIGH_CONFIDENCE_PHISH: EmailActionPolicy.ANTISPAM_PHISH.value,
    Verdict.PHISH: EmailActionPolicy.ANTISPAM_PHISH.value,
    Verdict.HIGH_CONFIDENCE_SPAM: EmailActionPolicy.ANTISPAM_HIGH_CONFIDENCE.value,
    Verdict.SPAM: EmailActionPolicy.ANTISPAM.value,
}


@dataclass(frozen=True, slots=True)
class RspamdMapping:
    """How an rspamd reply becomes a ramparts verdict; see the module docstring."""

    symbols: tuple[SymbolRule, ...] = DEFAULT_SYMBOL_RULES
    """Checked in order; the first rule that matches a symbol speaks for it."""
    actions: Mapping[str, Verdict] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    technologies: tuple[tuple[str, str], ...] = DEFAULT_TECHNOLOGIES
    spam_score: float | None = None
    high_confidence_spam_score: float | None = None
    scl5_ratio: float = 0.4
    scl6_ratio: float = 0.7
    clean_confidence: float = 0.8
    top_symbols: int = 10
    """How many symbols the explanation lists (largest absolute score first)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RspamdMapping:
        """Build from a TOML/JSON table; raises ConfigError naming a bad entry.

        `symbols` ([{match, verdict, technology?, confidence?, policy_family?}]) come before the defaults, so
        they win (a rule with verdict "Clean" silences a symbol), unless `replace_default_symbols = true`;
        `actions` ({action: verdict}) and `technologies` ({glob: label}) are merged over the defaults; the
        other keys (`spam_score`, `high_confidence_spam_score`, `scl5_ratio`, `scl6_ratio`,
        `clean_confidence`, `top_symbols`) replace the default value.
        """
        unknown = set(data) - _KEYS
        if unknown:
            raise ConfigError(f"rspamd mapping: unknown key(s) {sorted(unknown)}; expected some of {sorted(_KEYS)}")
        defaults = cls()
        rules = tuple(_rule(entry, index) for index, entry in enumerate(_list(data, "symbols")))
        if not data.get("replace_default_symbols", False):
            rules += defaults.symbols
        actions = dict(defaults.actions)
        raw_actions = data.get("actions", {})
        if not isinstance(raw_actions, Mapping):
            raise ConfigError("rspamd mapping: 'actions' must be a table of action name -> verdict")
        for action, verdict in raw_actions.items():
            actions[str(action).strip().lower()] = _verdict(verdict, f"actions.{action}")
        technologies = defaults.technologies
        if "technologies" in data:
            raw_tech = data["technologies"]
            if not isinstance(raw_tech, Mapping):
                raise ConfigError("rspamd mapping: 'technologies' must be a table of symbol glob -> label")
            technologies = tuple((str(k), str(v)) for k, v in raw_tech.items()) + technologies
        return cls(
            symbols=rules,
            actions=actions,
            technologies=technologies,
            spam_score=_optional_float(data, "spam_score", defaults.spam_score),
            high_confidence_spam_score=_optional_float(
                data, "high_confidence_spam_score", defaults.high_confidence_spam_score
            ),
            scl5_ratio=_float(data, "scl5_ratio", defaults.scl5_ratio),
            scl6_ratio=_float(data, "scl6_ratio", defaults.scl6_ratio),
            clean_confidence=_float(data, "clean_confidence", defaults.clean_confidence),
            top_symbols=int(_float(data, "top_symbols", defaults.top_symbols)),
        )

    @classmethod
    def load(cls, path: Path) -> RspamdMapping:
        """Read a .toml or .json file (the whole file is the mapping table)."""
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(path.read_text(encoding="utf-8"))
            else:
                with path.open("rb") as handle:
                    data = tomllib.load(handle)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"rspamd mapping {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"rspamd mapping {path}: the file must hold one table")
        return cls.from_dict(data)


_KEYS = {
    "symbols",
    "replace_default_symbols",
    "actions",
    "technologies",
    "spam_score",
    "high_confidence_spam_score",
    "scl5_ratio",
    "scl6_ratio",
    "clean_confidence",
    "top_symbols",
}
_RULE_KEYS = {"match", "verdict", "technology", "confidence", "policy_family"}


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"rspamd mapping: {key!r} must be a list")
    return value


def _verdict(value: object, where: str) -> Verdict:
    try:
        return Verdict.parse(str(value))
    except ValueError as exc:
        raise ConfigError(f"rspamd mapping {where}: {exc}") from exc


def _float(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"rspamd mapping: {key!r} must be a number, not {value!r}")
    return float(value)


def _optional_float(data: Mapping[str, Any], key: str, default: float | None) -> float | None:
    if key not in data:
        return default
    return _float(data, key, 0.0)


def _rule(entry: object, index: int) -> SymbolRule:
    where = f"symbols[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"rspamd mapping {where}: expected a table with 'match' and 'verdict'")
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise ConfigError(f"rspamd mapping {where}: unknown key(s) {sorted(unknown)}")
    if not entry.get("match") or "verdict" not in entry:
        raise ConfigError(f"rspamd mapping {where}: 'match' and 'verdict' are required")
    verdict = _verdict(entry["verdict"], where)
    confidence = entry.get("confidence", 0.9)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        raise ConfigError(f"rspamd mapping {where}: 'confidence' must be a number from 0 to 1")
    family = str(entry.get("policy_family", ""))
    if family and family not in {member.value for member in EmailActionPolicy}:
        raise ConfigError(f"rspamd mapping {where}: unknown policy_family {family!r}")
    return SymbolRule(
        match=str(entry["match"]),
        verdict=verdict,
        technology=str(entry.get("technology", MIXED_ANALYSIS)),
        confidence=float(confidence),
        policy_family=family,
    )


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict fields an rspamd reply maps to (the engine wraps them in an EngineVerdict)."""

    verdict: Verdict
    confidence: float
    threat_names: tuple[str, ...]
    detection_methods: dict[str, tuple[str, ...]]
    spam_confidence_level: int
    policy_family: str
    explanation: str
    dmarc_policy: str = ""
    """From rspamd's DMARC_POLICY_REJECT / DMARC_POLICY_QUARANTINE symbols."""


@dataclass(frozen=True, slots=True)
class _Proposal:
    verdict: Verdict
    technology: str
    confidence: float
    family: str
    names: tuple[str, ...]


def _score_proposal(reply: RspamdReply, mapping: RspamdMapping) -> _Proposal | None:
    """What the action and the score thresholds say, ignoring symbol rules."""
    candidates: list[Verdict] = []
    action_verdict = mapping.actions.get(reply.action.strip().lower())
    if action_verdict is not None:
        candidates.append(action_verdict)
    if mapping.spam_score is not None and reply.score >= mapping.spam_score:
        candidates.append(Verdict.SPAM)
    if mapping.high_confidence_spam_score is not None and reply.score >= mapping.high_confidence_spam_score:
        candidates.append(Verdict.HIGH_CONFIDENCE_SPAM)
    verdict = most_serious(candidates)
    if verdict is Verdict.CLEAN:
        return None
    ratio = reply.score / reply.required_score if reply.required_score > 0 else 1.0
    positive = sorted((s for s in reply.symbols if s.score > 0), key=lambda s: (-s.score, s.name))
    return _Proposal(
        verdict=verdict,
        technology=MIXED_ANALYSIS,
        confidence=min(1.0, max(0.5, ratio)),
        family=_FAMILY.get(verdict, ""),
        names=tuple(s.name for s in positive[:5]),
    )


def _scl(reply: RspamdReply, verdict: Verdict, mapping: RspamdMapping) -> int:
    if reply.is_skipped and verdict is Verdict.CLEAN:
        return -1
    required = reply.required_score
    if required > 0 and reply.score >= required:
        scl = 9
    elif required > 0 and reply.score >= mapping.scl6_ratio * required:
        scl = 6
    elif required > 0 and reply.score >= mapping.scl5_ratio * required:
        scl = 5
    else:
        scl = 1 if reply.score > 0 else 0
    if verdict is Verdict.HIGH_CONFIDENCE_SPAM:
        return 9
    if verdict is Verdict.SPAM:
        return max(scl, 5)
    if verdict is Verdict.CLEAN:
        return min(scl, 1)
    return scl


def _describe(symbol: RspamdSymbol) -> str:
    text = f"{symbol.name}({symbol.score:g})"
    if symbol.options:
        shown = ", ".join(symbol.options[:3]) + (", ..." if len(symbol.options) > 3 else "")
        text += f"[{shown}]"
    return text


def judge(reply: RspamdReply, mapping: RspamdMapping) -> Judgement:
    """Turn one rspamd reply into verdict fields according to `mapping`."""
    proposals: list[_Proposal] = []
    ruled: list[RspamdSymbol] = []
    for symbol in reply.symbols:
        rule = next((r for r in mapping.symbols if r.matches(symbol.name)), None)
        if rule is None or rule.verdict is Verdict.CLEAN:
            continue
        ruled.append(symbol)
        names = symbol.options if rule.verdict is Verdict.MALWARE and symbol.options else (symbol.name,)
        proposals.append(
            _Proposal(
                rule.verdict, rule.technology, rule.confidence, rule.policy_family or _FAMILY[rule.verdict], names
            )
        )
    scored = _score_proposal(reply, mapping)
    if scored is not None:
        proposals.append(scored)

    verdict = most_serious(p.verdict for p in proposals)
    ranked = sorted(
        (p for p in proposals if p.verdict is not Verdict.CLEAN), key=lambda p: (-p.verdict.severity, -p.confidence)
    )
    deciding = ranked[0] if ranked else None

    methods: dict[str, list[str]] = {}
    for proposal in ranked:
        labels = methods.setdefault(proposal.verdict.threat_type, [])
        if proposal.technology not in labels:
            labels.append(proposal.technology)
    if scored is not None:
        labels = methods.setdefault(scored.verdict.threat_type, [])
        for symbol in reply.symbols:
            if symbol.score <= 0:
                continue
            label = next((lb for pattern, lb in mapping.technologies if fnmatch.fnmatchcase(symbol.name, pattern)), "")
            if label and label not in labels:
                labels.append(label)
    names = tuple(dict.fromkeys(name for p in ranked for name in p.names))

    if deciding is not None:
        confidence = deciding.confidence
    else:
        ratio = max(reply.score, 0.0) / reply.required_score if reply.required_score > 0 else 0.0
        confidence = round(max(0.3, mapping.clean_confidence * (1.0 - min(ratio, 1.0))), 3)

    listed = sorted(reply.symbols, key=lambda s: (-abs(s.score), s.name))[: max(mapping.top_symbols, 0)]
    listed += [s for s in ruled if s not in listed]
    sentences = [f"rspamd action '{reply.action}', score {reply.score:g} of {reply.required_score:g}."]
    if reply.is_skipped:
        sentences.append("rspamd skipped the remaining checks.")
    if reply.smtp_message:
        sentences.append(f"rspamd says: {reply.smtp_message}.")
    if deciding is not None:
        why = ", ".join(s.name for s in ruled) if ruled else f"action '{reply.action}'"
        sentences.append(f"{verdict.value} ({deciding.family}) from {why}.")
    if listed:
        sentences.append("Symbols: " + ", ".join(_describe(s) for s in listed) + ".")
    return Judgement(
        verdict=verdict,
        confidence=confidence,
        threat_names=names,
        detection_methods={threat: tuple(labels) for threat, labels in methods.items() if labels},
        spam_confidence_level=_scl(reply, verdict, mapping),
        policy_family=deciding.family if deciding else "",
        explanation=" ".join(sentences),
        dmarc_policy=dmarc_policy(reply),
    )


_DMARC_POLICY_SYMBOLS = {"DMARC_POLICY_REJECT": "reject", "DMARC_POLICY_QUARANTINE": "quarantine"}


def dmarc_policy(reply: RspamdReply) -> str:
    """The enforcing DMARC policy rspamd saw fail ("reject" wins over "quarantine"), else ""."""
    seen = {_DMARC_POLICY_SYMBOLS[s.name] for s in reply.symbols if s.name in _DMARC_POLICY_SYMBOLS}
    return "reject" if "reject" in seen else next(iter(seen), "")
