"""Human risk score (HRS): how each person acts on real phishing, from their clicks on checked links
(human-risk.md 6.1 items 1-4, category actual_phishing, the only one with a data source here).

Points per click: blocked at click time +2 (intent, no harm), allowed but the message was malicious after
all +4, went past a warning +6; an allowed click on mail that stayed clean counts nothing. Points halve every
90 days and are dropped after 365; the score is their sum clamped to 0-10. With one category the HRS is that
category's score; a tenant without any click data has no HRS (a missing source must neither lower nor raise
it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ramparts.risk.attack_factor import decayed

HALF_LIFE_DAYS = 90.0
LOOKBACK_DAYS = 365
BLOCKED_POINTS = 2.0
ALLOWED_MALICIOUS_POINTS = 4.0
CLICKED_THROUGH_POINTS = 6.0
BANDS = ((2.0, "very low"), (4.0, "low"), (6.0, "medium"), (8.0, "high"))


@dataclass(frozen=True, slots=True)
class Clicks:
    """One person's clicks of one kind on one UTC day."""

    person: str
    day: dt.datetime
    count: int
    blocked: bool
    clicked_through: bool = False
    malicious: bool = False
    """The message the link came from was judged phishing or malware (at delivery or later)."""


@dataclass(slots=True)
class BehaviourScore:
    person: str
    score: float = 0.0
    band: str = "very low"
    blocked_clicks: int = 0
    risky_clicks: int = 0
    """Allowed clicks on malicious mail, and clicks past a warning."""
    clicks: int = 0
    contributions: dict[str, float] = field(default_factory=dict)


def points(click: Clicks) -> tuple[str, float]:
    if click.clicked_through:
        return "clickedThrough", CLICKED_THROUGH_POINTS
    if click.blocked:
        return "clickBlocked", BLOCKED_POINTS
    if click.malicious:
        return "clickAllowedMalicious", ALLOWED_MALICIOUS_POINTS
    return "clickAllowed", 0.0


def band(score: float) -> str:
    return next((name for limit, name in BANDS if score < limit), "very high")


def score(clicks: Iterable[Clicks], now: dt.datetime) -> list[BehaviourScore]:
    """Scores of everyone who clicked, riskiest first."""
    people: dict[str, BehaviourScore] = defaultdict(lambda: BehaviourScore(""))
    oldest = now - dt.timedelta(days=LOOKBACK_DAYS)
    for click in clicks:
        if click.day < oldest:
            continue
        person = people[click.person]
        person.person = click.person
        kind, base = points(click)
        share = decayed(base * click.count, click.day, now, HALF_LIFE_DAYS)
        person.contributions[kind] = person.contributions.get(kind, 0.0) + share
        person.score += share
        person.clicks += click.count
        person.blocked_clicks += click.count if click.blocked and not click.clicked_through else 0
        person.risky_clicks += click.count if kind in ("clickAllowedMalicious", "clickedThrough") else 0
    for person in people.values():
        person.score = round(min(10.0, max(0.0, person.score)), 2)
        person.band = band(person.score)
        person.contributions = {k: round(v, 3) for k, v in sorted(person.contributions.items())}
    return sorted(people.values(), key=lambda p: (-p.score, p.person))
