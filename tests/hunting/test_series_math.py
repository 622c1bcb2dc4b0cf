"""series_math against an independent numpy computation of the documented algorithm."""

from __future__ import annotations

import math
import random

import pytest

from ramparts.hunting import series_math

np = pytest.importorskip("numpy")


def _reference(values: list[float], period: int, trend: str, k: float) -> tuple[list[int], list[float], list[float]]:
    x = np.array(values, dtype=float)
    n = len(x)
    seasonal = np.zeros(n)
    if period:
        medians = [float(np.median(x[phase::period])) for phase in range(period)]
        seasonal = np.array([medians[i % period] for i in range(n)])
    rest = x - seasonal
    if trend == "linefit":
        slope, intercept = np.polyfit(np.arange(n), rest, 1)
        trend_values = slope * np.arange(n) + intercept
    elif trend == "avg":
        trend_values = np.full(n, rest.mean())
    else:
        trend_values = np.zeros(n)
    baseline = seasonal + trend_values
    residual = x - baseline
    low, high = np.percentile(residual, [10, 90])
    spread = high - low
    score = np.where(
        residual > high, (residual - high) / spread, np.where(residual < low, (residual - low) / spread, 0)
    )
    flag = np.where(score > k, 1, np.where(score < -k, -1, 0))
    return [int(f) for f in flag], [float(s) for s in score], [float(b) for b in baseline]


@pytest.mark.parametrize("trend", ["avg", "linefit", "none"])
@pytest.mark.parametrize("period", [0, 5])
def test_decompose_anomalies_matches_numpy(trend: str, period: int) -> None:
    rng = random.Random(f"{trend}{period}")
    values = [20 + 0.3 * i + 4 * math.sin(i) + rng.gauss(0, 1) for i in range(60)]
    values[17] += 25
    values[41] -= 25
    flags, scores, baseline = series_math.decompose_anomalies(values, 1.5, period, trend)
    ref_flags, ref_scores, ref_baseline = _reference(values, period, trend, 1.5)
    assert flags == ref_flags
    assert scores == pytest.approx(ref_scores, abs=1e-9)
    assert baseline == pytest.approx(ref_baseline, abs=1e-9)
    if trend == "linefit":  # with the slope removed, the two planted spikes stand out
        assert flags[17] == 1 and flags[41] == -1


def test_detect_period_finds_the_cycle_and_ignores_trends() -> None:
    cycle = [math.sin(2 * math.pi * i / 7) * 5 + 20 for i in range(42)]
    assert series_math.detect_period(cycle) == 7
    assert series_math.detect_period([2.0 * i + 1 for i in range(30)]) == 0
    assert series_math.detect_period([3.0] * 30) == 0
    assert series_math.detect_period([1.0, 2.0]) == 0


def test_missing_points_score_zero_and_are_left_out() -> None:
    values: series_math.Series = [1.0, None, *([1.0] * 9), 9.0]
    flags, scores, baseline = series_math.decompose_anomalies(values, seasonality=0)
    assert flags == [0] * 11 + [1]
    assert scores[1] == 0.0
    assert baseline == pytest.approx([19 / 11] * 12)
