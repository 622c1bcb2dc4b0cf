"""Attack Factor: how much each person is targeted, from the threats aimed at them (human-risk.md 6.1 item 5).

Each threat adds its family's weight (phish 1, malware 1.5, impersonation or BEC 3), doubled when it reached
the mailbox and was removed later (real exposure), halved every 14 days since it arrived. The sum A is the
person's attack index; AF = 10 * min(1, ln(1 + A) / ln(1 + A_ref)), 0 to 10, with A_ref the tenant's 99th
percentile of A (at least REFERENCE_FLOOR, so a quiet tenant does not make everyone a 10). People whose A
reaches the tenant's 95th percentile (and the floor) are flagged very attacked (VAP). Pure arithmetic:
every score can be recomputed from its attacks and explained by family.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

FAMILY_WEIGHTS = {"phish": 1.0, "malware": 1.5, "impersonation": 3.0}
EXPOSED_MULTIPLIER = 2.0
HALF_LIFE_DAYS = 14.0
REFERENCE_PERCENTILE = 0.99
VAP_PERCENTILE = 0.95
REFERENCE_FLOOR = 5.0


@dataclass(frozen=True, slots=True)
class Attack:
    """Threats of one family aimed at one person on one UTC day."""

    person: str
    family: str
    day: dt.datetime
    count: int
    exposed: bool = False
    """Delivered to the mailbox and removed afterwards (ZAP or a vendor's remediation)."""


@dataclass(slots=True)
class AttackScore:
    person: str
    attack_index: float = 0.0
    attack_factor: float = 0.0
    very_attacked: bool = False
    by_family: dict[str, float] = field(default_factory=dict)
    """Each family's share of the attack index (decayed points)."""
    threats: int = 0
    exposed: int = 0
    last_attack: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class TenantAttackScores:
    people: list[AttackScore]
    """Most attacked first."""
    reference: float
    """A_ref: the attack index that scores 10."""
    vap_threshold: float


def decayed(points: float, day: dt.datetime, now: dt.datetime, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """points * 0.5^(age / half-life), the age taken from the middle of the day (never negative)."""
    age_days = max(0.0, (now - (day + dt.timedelta(hours=12))).total_seconds() / 86_400)
    return float(points * 0.5 ** (age_days / half_life_days))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def attack_factor(attack_index: float, reference: float) -> float:
    if attack_index <= 0:
        return 0.0
    return 10.0 * min(1.0, math.log1p(attack_index) / math.log1p(reference))


def score(attacks: Iterable[Attack], now: dt.datetime, *, floor: float = REFERENCE_FLOOR) -> TenantAttackScores:
    """Scores for the people of one tenant."""
    people: dict[str, AttackScore] = defaultdict(lambda: AttackScore(""))
    for attack in attacks:
        weight = FAMILY_WEIGHTS.get(attack.family, FAMILY_WEIGHTS["phish"])
        if attack.exposed:
            weight *= EXPOSED_MULTIPLIER
        points = decayed(weight * attack.count, attack.day, now)
        person = people[attack.person]
        person.person = attack.person
        person.attack_index += points
        person.by_family[attack.family] = person.by_family.get(attack.family, 0.0) + points
        person.threats += attack.count
        person.exposed += attack.count if attack.exposed else 0
        if person.last_attack is None or attack.day > person.last_attack:
            person.last_attack = attack.day
    indexes = [p.attack_index for p in people.values()]
    reference = max(floor, percentile(indexes, REFERENCE_PERCENTILE))
    vap_threshold = max(floor, percentile(indexes, VAP_PERCENTILE))
    for person in people.values():
        person.attack_factor = round(attack_factor(person.attack_index, reference), 2)
        person.very_attacked = person.attack_index >= vap_threshold
        person.attack_index = round(person.attack_index, 3)
        person.by_family = {k: round(v, 3) for k, v in sorted(person.by_family.items())}
    ranked = sorted(people.values(), key=lambda p: (-p.attack_index, p.person))
    return TenantAttackScores(ranked, round(reference, 3), round(vap_threshold, 3))
