"""Row-count anomaly math: z-score against recent history and percentage change from the last count."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AnomalyVerdict:
    passed: bool
    zscore: float | None
    pct_change: float | None
    mean: float | None
    stdev: float | None
    history_size: int
    note: str


def zscore(value: float, history: Sequence[float]) -> float:
    """(value - mean) / sample stdev; 0 when value equals a constant history, +/-inf when it differs from it."""
    mean = statistics.fmean(history)
    stdev = statistics.stdev(history) if len(history) > 1 else 0.0
    if stdev == 0:
        return 0.0 if value == mean else math.copysign(math.inf, value - mean)
    return (value - mean) / stdev


def pct_change(value: float, previous: float) -> float:
    """Percentage change from ``previous``; +inf when growing from 0."""
    if previous == 0:
        return 0.0 if value == 0 else math.inf
    return (value - previous) / previous * 100.0


def judge(
    value: float,
    history: Sequence[float],
    *,
    max_zscore: float | None,
    max_pct_change: float | None,
    min_history: int,
) -> AnomalyVerdict:
    """Is ``value`` an anomaly given ``history`` (most recent first)?"""
    if len(history) < min_history:
        return AnomalyVerdict(
            True,
            None,
            None,
            None,
            None,
            len(history),
            f"history too short ({len(history)} of {min_history} runs needed): passed",
        )
    z = zscore(value, history)
    change = pct_change(value, history[0])
    mean = statistics.fmean(history)
    stdev = statistics.stdev(history)
    problems = []
    if max_zscore is not None and abs(z) > max_zscore:
        problems.append(f"|z-score| {abs(z):.2f} > {max_zscore:g}")
    if max_pct_change is not None and abs(change) > max_pct_change:
        problems.append(f"|change| {abs(change):.1f}% > {max_pct_change:g}%")
    note = (
        f"mean {mean:.1f}, stdev {stdev:.1f} over {len(history)} runs; z-score {z:.2f}, "
        f"change from last {change:+.1f}%"
    )
    if problems:
        note += "; " + ", ".join(problems)
    return AnomalyVerdict(not problems, z, change, mean, stdev, len(history), note)
