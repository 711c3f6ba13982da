"""Smoke run of the bot-overhead benchmark: real bot process, tiny model, three users.

Checks the report's shape and that every job was delivered; never its timings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bot_overhead import main

pytestmark = pytest.mark.e2e

USERS = 3


def test_smoke_run_reports_every_field_and_delivers_every_job(tmp_path: Path) -> None:
    output, table = tmp_path / "report.json", tmp_path / "report.md"
    argv = ["--users", str(USERS), "--duration", "2.5", "--timeout", "120"]
    argv += ["--workdir", str(tmp_path / "bot"), "--output", str(output), "--markdown", str(table)]

    assert main(argv) == 0

    report = json.loads(output.read_text())
    assert report["benchmark"] == "bot_overhead"
    assert report["command"].startswith("python -m bench.bot_overhead --users 3")
    assert report["machine"]["cpu_count"] >= 1 and report["machine"]["platform"]
    assert report["versions"]["torch"] and report["versions"]["ambientgen"]
    settings = report["settings"]
    assert (settings["users"], settings["duration"], settings["model"]) == (USERS, 2.5, "tiny")
    assert settings["bot_config_overrides"] == {"queue": {"max_batch": 0}}

    r = report["results"]
    assert r["problems"] == [] and r["verified"]
    assert r["jobs"] == r["jobs_done"] == r["results_delivered"] == USERS
    assert r["steps_run"] == [settings["steps"]]
    assert sum(r["batch_sizes"]) == USERS and r["batches"] == len(r["batch_sizes"])
    assert r["batch_start_spread_ms"]["count"] == sum(1 for size in r["batch_sizes"] if size > 1)
    for name in (
        "overhead_ms",
        "posting_ms",
        "round_trip_ms",
        "queue_wait_s",
        "latency_s",
        "pipeline_s_per_job",
    ):
        stats = r[name]
        assert stats["count"] == USERS, name
        assert 0 <= stats["p50"] <= stats["p95"] <= stats["max"], (name, stats)
    # Overhead is the job's time minus its pipeline call: a share of it, never more.
    assert 0 <= r["overhead_pct_of_job"]["p50"] <= r["overhead_pct_of_job"]["max"] < 100
    assert r["wall_s"] > 0 and r["jobs_per_minute"] > 0
    assert 0 < r["pipeline_busy_pct"] <= 100
    gap = r["idle_gap_ms"]
    assert gap["log_form"] == "not logged" or (gap["count"] >= 1 and gap["p50"] >= 0)
    assert r["worst_loop_stall_ms"] is not None and r["worst_loop_stall_ms"] >= 0
    assert r["worst_loop_stall_when"] and r["bot_start_s"] > 0
    assert r["cpu_during_load"]["wall_s"] > 0 and r["cpu_during_load"]["standin_cores"] >= 0
    assert set(r["load_average_1min"]) == {"before", "after"} and "other_cores" in r["cpu_during_load"]

    text = table.read_text()
    assert "| Measure | Value |" in text and "Overhead per job" in text and "Jobs per minute" in text
