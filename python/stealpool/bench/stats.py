"""The arithmetic behind every cell: medians and ratios to the stdlib."""

from __future__ import annotations

import statistics
from typing import Optional, Sequence

LOWER_IS_BETTER = "lower"
HIGHER_IS_BETTER = "higher"


def median(samples: Sequence[float]) -> float:
    """The median, which one slow round (a page fault, a GC pass) cannot move."""
    if not samples:
        raise ValueError("median of no samples")
    return float(statistics.median(samples))


def ratio_to_baseline(value: Optional[float], baseline: Optional[float], better: str) -> Optional[float]:
    """How many times better than the baseline ``value`` is: > 1 means better.

    For times (``better="lower"``) that is baseline / value, for throughputs
    and speedups (``better="higher"``) value / baseline, so one convention
    ("ratio > 1 means faster than the stdlib") reads the same in every row.
    None when either side is missing or zero, rather than a division error
    or an infinite ratio that a reader would take for a measurement.
    """
    if better not in (LOWER_IS_BETTER, HIGHER_IS_BETTER):
        raise ValueError("better must be {!r} or {!r}, got {!r}".format(LOWER_IS_BETTER, HIGHER_IS_BETTER, better))
    if value is None or baseline is None or value <= 0 or baseline <= 0:
        return None
    if better == LOWER_IS_BETTER:
        return baseline / value
    return value / baseline
