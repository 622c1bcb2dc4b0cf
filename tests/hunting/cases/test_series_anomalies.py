"""series_decompose, series_decompose_anomalies and series_outliers, worked out by hand from
Microsoft's documentation: seasonal = per-phase median, trend = avg / linefit / none of the series
minus its seasonal part, baseline = seasonal + trend, residual = x - baseline; scores by Tukey's
fence on the residuals (10th-90th percentiles for ctukey, 25th-75th for tukey, linear
interpolation): (x - P_hi) / (P_hi - P_lo) above the range, (x - P_lo) / (P_hi - P_lo) below it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

# sorted residuals (trend none, no seasonality) [1..10, 30]: P10 = 2, P90 = 10, range 8
RISE = "print s = dynamic([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30])"
# [-30, 1..9, 10]: P10 = 1, P90 = 9, range 8
DIP = "print s = dynamic([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -30])"
WEEKLY = "print s = dynamic([1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7])"  # period 4

CASES = [
    case(
        "series-decompose-anomalies-rise-flags-plus-one",
        RISE + ' | extend (flag, score, baseline) = series_decompose_anomalies(s, 1.5, 0, "none") | project-away s',
        [{"flag": [0] * 10 + [1], "score": [-0.125] + [0.0] * 9 + [2.5], "baseline": [0.0] * 11}],
        columns=[("flag", "dynamic"), ("score", "dynamic"), ("baseline", "dynamic")],
    ),
    case(
        "series-decompose-anomalies-dip-flags-minus-one",
        DIP + ' | extend (flag, score, baseline) = series_decompose_anomalies(s, 1.5, 0, "none") | project flag, score',
        [{"flag": [0] * 10 + [-1], "score": [0.0] * 9 + [0.125, -3.875]}],
    ),
    case(
        "series-decompose-anomalies-threshold-is-k",
        RISE + ' | extend (flag, score, baseline) = series_decompose_anomalies(s, 3.0, 0, "none") | project flag',
        [{"flag": [0] * 11}],
    ),
    case(
        "series-decompose-anomalies-constant-with-spike-default-args",
        "print s = dynamic([10, 10, 10, 10, 10, 10, 10, 40, 10, 10, 10, 10])"
        " | extend (flag, score, baseline) = series_decompose_anomalies(s) | project-away s",
        # no period; avg trend 12.5; residuals -2.5 (x11) and 27.5 leave P10 = P90 = -2.5, so the
        # distance 30 is divided by the mean absolute deviation from the median, 30 / 12
        [{"flag": [0] * 7 + [1] + [0] * 4, "score": [0.0] * 7 + [12.0] + [0.0] * 4, "baseline": [12.5] * 12}],
    ),
    case(
        "series-decompose-anomalies-linear-trend-has-no-anomaly",
        "print s = dynamic([3, 5, 7, 9, 11, 13, 15, 17, 19, 21])"
        ' | extend (flag, score, baseline) = series_decompose_anomalies(s, 1.5, -1, "linefit") | project-away s',
        [{"flag": [0] * 10, "score": [0.0] * 10, "baseline": [3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0, 19.0, 21.0]}],
    ),
    case(
        "series-decompose-anomalies-given-period-median-baseline",
        "print s = dynamic([1, 5, 3, 7, 1, 5, 3, 7, 1, 15, 3, 7])"
        ' | extend (flag, score, baseline) = series_decompose_anomalies(s, 1.5, 4, "none") | project flag, baseline',
        # phase 1 holds 5, 5, 15: median 5; the 15 is the only residual
        [{"flag": [0] * 9 + [1, 0, 0], "baseline": [1.0, 5.0, 3.0, 7.0] * 3}],
    ),
    case(
        "series-decompose-anomalies-default-names",
        RISE + ' | extend series_decompose_anomalies(s, 1.5, 0, "none") | project-away s',
        [
            {
                "series_decompose_anomalies_s_ad_flag": [0] * 10 + [1],
                "series_decompose_anomalies_s_ad_score": [-0.125] + [0.0] * 9 + [2.5],
                "series_decompose_anomalies_s_baseline": [0.0] * 11,
            }
        ],
    ),
    case(
        "series-decompose-autodetects-period",
        WEEKLY + " | extend (baseline, seasonal, trend, residual) = series_decompose(s) | project-away s",
        [
            {
                "baseline": [1.0, 5.0, 3.0, 7.0] * 4,
                "seasonal": [1.0, 5.0, 3.0, 7.0] * 4,
                "trend": [0.0] * 16,
                "residual": [0.0] * 16,
            }
        ],
    ),
    case(
        "series-decompose-seasonality-zero-disables-it",
        WEEKLY
        + " | extend (baseline, seasonal, trend, residual) = series_decompose(s, 0) | project baseline, seasonal",
        [{"baseline": [4.0] * 16, "seasonal": [0.0] * 16}],
    ),
    case(
        "series-decompose-linefit-avg-none",
        "print s = dynamic([1, 2, 3, 4, 5, 6])"
        ' | extend (b1, s1, t1, r1) = series_decompose(s, 0, "linefit")'
        ' | extend (b2, s2, t2, r2) = series_decompose(s, 0, "avg")'
        ' | extend (b3, s3, t3, r3) = series_decompose(s, 0, "none")'
        " | project t1, r1, t2, r2, b3, r3",
        [
            {
                "t1": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                "r1": [0.0] * 6,
                "t2": [3.5] * 6,
                "r2": [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5],
                "b3": [0.0] * 6,
                "r3": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            }
        ],
    ),
    case(
        "series-decompose-test-points-forecast-the-line",
        # the regression learns [1, 2, 3, 4] only and extends the line over the last two points
        'print s = dynamic([1, 2, 3, 4, 50, 60]) | extend (b, s2, t, r) = series_decompose(s, 0, "linefit", 2)'
        " | project b, r",
        [{"b": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "r": [0.0, 0.0, 0.0, 0.0, 45.0, 54.0]}],
    ),
    case(
        "series-outliers-ctukey-default",
        RISE + " | project o = series_outliers(s)",
        [{"o": [-0.125] + [0.0] * 9 + [2.5]}],
    ),
    case(
        "series-outliers-tukey-quartiles",
        # P25 = 3.5, P75 = 8.5, range 5
        RISE + ' | project o = series_outliers(s, "tukey")',
        [{"o": [-0.5, -0.3, -0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.3, 4.3]}],
    ),
    case(
        "series-outliers-custom-percentiles",
        # P25 = 3.5, P75 = 8.5 through min/max_percentile of ctukey
        RISE + ' | project o = series_outliers(s, "ctukey", double(null), 25, 75)',
        [{"o": [-0.5, -0.3, -0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.3, 4.3]}],
    ),
    case(
        "series-decompose-anomalies-on-make-series-then-mv-expand",
        "datatable(t:datetime, n:long)["
        + ", ".join(f"datetime(2024-05-{d:02d}), {10 if d != 6 else 40}" for d in range(1, 11))
        + "] | make-series total = sum(n) on t from datetime(2024-05-01) to datetime(2024-05-11) step 1d"
        " | extend (flag, score, baseline) = series_decompose_anomalies(total)"
        " | mv-expand t to typeof(datetime), flag to typeof(int) | where flag != 0 | project t, flag",
        [{"t": "2024-05-06T00:00:00Z", "flag": 1}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_series_anomalies(
    check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any
) -> None:
    check(query, expected, ordered=ordered, columns=columns)
