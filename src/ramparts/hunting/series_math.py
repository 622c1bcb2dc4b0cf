"""The arithmetic of Kusto's series decomposition and outlier scoring, on plain Python lists.

Follows Microsoft's documentation of series_decompose, series_outliers and
series_decompose_anomalies:

* seasonal: the median of the points in the same phase of the period (0 when there is none);
  the period is given, or detected (-1) as the autocorrelation peak of the detrended series
  (lags 2..n/2) whose score reaches `seasonality_threshold`;
* trend, on the series minus its seasonal part: its average (`avg`), a least-squares line
  (`linefit`) or 0 (`none`);
* baseline = seasonal + trend, residual = x - baseline; the last `test_points` points are left out
  of the learning (medians, average, regression) and forecast;
* outlier score (Tukey's fence): with P_lo/P_hi the 25th/75th (`tukey`) or 10th/90th (`ctukey`)
  percentiles (linear interpolation) and R = P_hi - P_lo, a point above P_hi scores (x - P_hi) / R,
  one below P_lo scores (x - P_lo) / R, others 0; missing points score 0;
* ad_flag: +1 where the score exceeds the threshold, -1 where it is below -threshold, else 0.

Two choices the documentation leaves open: residuals within 1e-9 of the series' scale are taken
as 0 (so that rounding noise on an exact fit is not scored), and when R is 0 (a sparse or flat series,
such as hourly mail counts that are mostly 0) the distance beyond the fence is divided by the mean
absolute deviation of the points from their median instead: a lone spike among n points scores n.
"""

from __future__ import annotations

import math
from statistics import median

Series = list[float | None]

_TOLERANCE = 1e-9


def _percentile(sorted_values: list[float], pct: float) -> float:
    position = (len(sorted_values) - 1) * pct / 100.0
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _scale(values: Series) -> float:
    return max([1.0, *(abs(v) for v in values if v is not None)])


def _autocorrelation(values: list[float], lag: int) -> float:
    mean = sum(values) / len(values)
    centered = [v - mean for v in values]
    energy = sum(c * c for c in centered)
    if energy <= 0:
        return 0.0
    return sum(centered[i] * centered[i + lag] for i in range(len(values) - lag)) / energy


def _line(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through (index, value) points."""
    count = len(points)
    mean_x = sum(i for i, _ in points) / count
    mean_y = sum(v for _, v in points) / count
    sxx = sum((i - mean_x) ** 2 for i, _ in points)
    if sxx == 0:
        return 0.0, mean_y
    slope = sum((i - mean_x) * (v - mean_y) for i, v in points) / sxx
    return slope, mean_y - slope * mean_x


def detect_period(values: Series, threshold: float = 0.6) -> int:
    """The most significant period in bins, or 0 when no autocorrelation peak reaches threshold."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 4:
        return 0
    slope, intercept = _line(known)
    mean = sum(v for _, v in known) / len(known)
    filled = [mean if v is None else v for v in values]
    detrended = [v - (slope * i + intercept) for i, v in enumerate(filled)]
    tolerance = _TOLERANCE * _scale(values)
    if all(abs(v) <= tolerance for v in detrended):
        return 0
    top = len(detrended) // 2
    scores = [_autocorrelation(detrended, lag) for lag in range(min(top + 2, len(detrended)))]
    best, best_score = 0, threshold
    for lag in range(2, top + 1):
        score = scores[lag]
        peak = score > scores[lag - 1] and (lag + 1 >= len(scores) or score >= scores[lag + 1])
        if peak and score >= threshold and (best == 0 or score > best_score):
            best, best_score = lag, score
    return best


def decompose(
    values: Series,
    seasonality: int = -1,
    trend: str = "avg",
    test_points: int = 0,
    seasonality_threshold: float = 0.6,
) -> tuple[Series, Series, Series, Series]:
    """(baseline, seasonal, trend, residual) of a series."""
    count = len(values)
    learn = max(0, count - max(0, test_points))
    period = detect_period(values[:learn], seasonality_threshold) if seasonality == -1 else max(seasonality, 0)
    seasonal = [0.0] * count
    if period > 0:
        phases: list[list[float]] = [[] for _ in range(period)]
        for i in range(learn):
            value = values[i]
            if value is not None:
                phases[i % period].append(value)
        medians = [median(phase) if phase else 0.0 for phase in phases]
        seasonal = [medians[i % period] for i in range(count)]
    rest = [(i, v - seasonal[i]) for i in range(learn) if (v := values[i]) is not None]
    if trend == "none" or not rest:
        trend_values = [0.0] * count
    elif trend == "linefit":
        slope, intercept = _line(rest)
        trend_values = [slope * i + intercept for i in range(count)]
    else:
        average = sum(v for _, v in rest) / len(rest)
        trend_values = [average] * count
    baseline: Series = [s + t for s, t in zip(seasonal, trend_values, strict=True)]
    tolerance = _TOLERANCE * _scale(values)
    residual: Series = []
    for value, base in zip(values, baseline, strict=True):
        if value is None or base is None:
            residual.append(None)
        else:
            diff = value - base
            residual.append(0.0 if abs(diff) <= tolerance else diff)
    return baseline, list(seasonal), list(trend_values), residual


def outliers(values: Series, kind: str = "ctukey", low_pct: float = 10.0, high_pct: float = 90.0) -> list[float]:
    """Tukey's fence score of each point (0 for missing points)."""
    if kind == "tukey":
        low_pct, high_pct = 25.0, 75.0
    known = sorted(v for v in values if v is not None)
    if not known:
        return [0.0] * len(values)
    low, high = _percentile(known, low_pct), _percentile(known, high_pct)
    spread = high - low
    if spread <= 0:
        middle = median(known)
        spread = sum(abs(v - middle) for v in known) / len(known)
        if spread <= 0:  # every point equals the median: none is outside the fence
            return [0.0] * len(values)
    scores: list[float] = []
    for value in values:
        if value is None or low <= value <= high:
            scores.append(0.0)
        elif value > high:
            scores.append((value - high) / spread)
        else:
            scores.append((value - low) / spread)
    return scores


def decompose_anomalies(
    values: Series,
    threshold: float = 1.5,
    seasonality: int = -1,
    trend: str = "avg",
    test_points: int = 0,
    method: str = "ctukey",
    seasonality_threshold: float = 0.6,
) -> tuple[list[int], list[float], Series]:
    """(ad_flag, ad_score, baseline) of a series."""
    baseline, _, _, residual = decompose(values, seasonality, trend, test_points, seasonality_threshold)
    scores = outliers(residual, method)
    flags = [1 if s > threshold else -1 if s < -threshold else 0 for s in scores]
    return flags, scores, baseline
