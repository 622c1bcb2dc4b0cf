"""Attack Factor arithmetic: weights, exposure, decay, reference and very-attacked threshold."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from ramparts.risk.attack_factor import Attack, attack_factor, decayed, percentile, score

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = dt.datetime(2026, 6, 15, tzinfo=dt.UTC)


def days_ago(n: int) -> dt.datetime:
    return TODAY - dt.timedelta(days=n)


def test_points_halve_every_fourteen_days_from_the_middle_of_the_day() -> None:
    assert decayed(4.0, TODAY, NOW) == pytest.approx(4.0)
    assert decayed(4.0, days_ago(14), NOW) == pytest.approx(2.0)
    assert decayed(4.0, days_ago(28), NOW) == pytest.approx(1.0)
    assert decayed(4.0, TODAY + dt.timedelta(days=1), NOW) == pytest.approx(4.0)  # never more than its points


def test_families_weigh_differently_and_exposure_doubles() -> None:
    scores = score(
        [
            Attack("phished@x", "phish", TODAY, 2),
            Attack("malwared@x", "malware", TODAY, 2),
            Attack("bec@x", "impersonation", TODAY, 1),
            Attack("exposed@x", "phish", TODAY, 1, exposed=True),
        ],
        NOW,
    )
    index = {p.person: p.attack_index for p in scores.people}
    assert index == {"phished@x": 2.0, "malwared@x": 3.0, "bec@x": 3.0, "exposed@x": 2.0}
    exposed = next(p for p in scores.people if p.person == "exposed@x")
    assert (exposed.threats, exposed.exposed) == (1, 1)


def test_factor_is_logarithmic_up_to_the_reference_and_the_floor_keeps_quiet_tenants_low() -> None:
    assert attack_factor(0.0, 5.0) == 0.0
    assert attack_factor(5.0, 5.0) == pytest.approx(10.0)
    assert attack_factor(50.0, 5.0) == 10.0
    assert attack_factor(1.0, 5.0) == pytest.approx(10 * math.log(2) / math.log(6))
    quiet = score([Attack("only@x", "phish", TODAY, 1)], NOW)
    assert quiet.reference == 5.0
    assert quiet.people[0].attack_factor == pytest.approx(3.87, abs=0.01)
    assert not quiet.people[0].very_attacked


def test_the_most_attacked_are_ranked_first_and_flagged() -> None:
    attacks = [Attack(f"user{i}@x", "phish", TODAY, 1) for i in range(40)]
    attacks += [Attack("ceo@x", "impersonation", days_ago(d), 3) for d in range(5)]
    attacks.append(Attack("cfo@x", "malware", days_ago(1), 6))
    scores = score(attacks, NOW)
    assert [p.person for p in scores.people[:2]] == ["ceo@x", "cfo@x"]
    ceo, cfo = scores.people[:2]
    assert ceo.attack_factor == 10.0 and ceo.very_attacked
    assert cfo.very_attacked and 0 < cfo.attack_factor < 10
    assert not any(p.very_attacked for p in scores.people[2:])
    assert ceo.by_family == {"impersonation": ceo.attack_index}
    assert ceo.last_attack == TODAY


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.99) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
