"""Percentiles and the p50 / p95 / max / mean summaries of the report."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), linear between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], digits: int = 1) -> dict[str, float | int | None]:
    """p50 / p95 / max / mean / count, rounded for reading."""

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, digits)

    return {
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "max": r(max(values, default=None)),
        "mean": r(sum(values) / len(values) if values else None),
        "count": len(values),
    }
