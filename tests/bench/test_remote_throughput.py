"""Smoke run of the 1-vs-2-workers benchmark: real Redis, workers and bot, a few jobs.

Checks the report's shape and that every job was delivered once; never its timings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.remote_throughput import main

pytestmark = pytest.mark.e2e


def test_smoke_run_compares_one_and_two_workers(tmp_path: Path) -> None:
    output, table = tmp_path / "report.json", tmp_path / "report.md"
    argv = ["--users", "2", "--jobs-per-user", "2", "--duration", "2.5", "--workdir", str(tmp_path / "run")]
    assert main([*argv, "--output", str(output), "--markdown", str(table)]) == 0

    report = json.loads(output.read_text())
    assert report["benchmark"] == "remote_throughput"
    assert report["command"].startswith("python -m bench.remote_throughput --users 2")
    assert report["settings"]["torch_threads_per_worker"] == 1 and report["machine"]["cpu_count"] >= 1
    one, two = report["results"]
    assert (one["workers"], two["workers"]) == (1, 2)
    for result in (one, two):
        assert result["problems"] == [] and result["jobs"] == 4
        assert sum(result["jobs_per_worker"]) == 4 and result["jobs_per_minute"] > 0
        assert result["bot_cpu_ms_per_job"] is None or result["bot_cpu_ms_per_job"] > 0
    assert len(two["jobs_per_worker"]) == 2
    assert "| **throughput (jobs/min)** |" in table.read_text()
