"""The voice benchmark's own logic: generation windows from the bot's log, interval statistics."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from bench.voice_jitter import generation_windows, markdown, stats

LOG = """\
2026-11-30 05:21:15,605 level=INFO job=1 logger=w msg=jobs 1: generating 1 × 4s, 50 steps
2026-11-30 05:21:16,960 level=INFO job=1 logger=w msg=batch of 1 job(s), 1 clip(s) generated in 1.360s
2026-11-30 05:21:17,000 level=INFO job=2 logger=w msg=job 2: delivered as message 5
2026-11-30 05:21:18,250 level=INFO job=2 logger=w msg=jobs 2,3: generating 2 × 10s, 50 steps
2026-11-30 05:21:20,500 level=INFO job=2 logger=w msg=batch of 2 job(s), 2 clip(s) generated in 2.250s
"""


def stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def test_windows_pair_each_start_with_its_end() -> None:
    assert generation_windows(LOG) == [
        (stamp("2026-11-30 05:21:15,605"), stamp("2026-11-30 05:21:16,960")),
        (stamp("2026-11-30 05:21:18,250"), stamp("2026-11-30 05:21:20,500")),
    ]
    assert generation_windows("nothing generated\n") == []


def test_the_next_batch_handed_over_before_the_last_ends_pairs_by_job() -> None:
    log = """\
2026-11-30 10:00:48,502 level=INFO job=2 logger=s msg=jobs 2: generating 1 clip(s) of 10s, 50 steps
2026-11-30 10:00:50,680 level=INFO job=3 logger=s msg=jobs 3,7,8: generating 3 clip(s) of 10s, 50 steps
2026-11-30 10:00:50,823 level=INFO job=2 logger=s msg=batch of 1 job(s), 1 clip(s) generated in 2.209s
2026-11-30 10:00:54,321 level=INFO job=3 logger=s msg=batch of 3 job(s), 3 clip(s) generated in 3.520s
"""
    assert generation_windows(log) == [
        (stamp("2026-11-30 10:00:48,502"), stamp("2026-11-30 10:00:50,823")),
        (stamp("2026-11-30 10:00:50,680"), stamp("2026-11-30 10:00:54,321")),
    ]


def test_stats_and_the_verdict() -> None:
    intervals = np.array([20.0] * 98 + [40.0, 60.0])
    assert stats(intervals) == {"p50": 20.0, "p99": 40.2, "max": 60.0, "count": 100}
    measured = {
        "quiet": stats(np.full(10, 20.0)),
        "generating": stats(intervals),
        "pipeline_calls": 2,
        "generating_s": 3.6,
        "sequence_gaps": 0,
        "worst_event_loop_stall_ms": 0.0,
        "load_average": [1.0, 1.0, 1.0],
    }
    report = {
        "measured": measured,
        "settings": {"jobs": 2, "duration": 10.0, "bitrate_kbps": 128},
        "machine": {"cpu_model": "x", "cpus_usable": 2},
    }
    assert "**NOT met**" in markdown(report)
    measured["generating"] = stats(np.full(10, 20.0))
    assert "**met**" in markdown(report)
