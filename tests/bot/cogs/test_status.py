"""``/status`` texts that are pure logic."""

from __future__ import annotations

from bot.cogs.status import gap_summary


def test_gap_summary_reports_median_and_worst() -> None:
    assert gap_summary([]) == "no job has waited yet"
    assert gap_summary([12.4, 3.2, 5.0]) == "median 5 ms, worst 12 ms (3 gaps)"
