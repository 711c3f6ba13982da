"""Smoke run of the metrics-cost benchmark: the report's shape, never its timings."""

from __future__ import annotations

import json
from pathlib import Path

from bench.metrics_cost import main


def test_smoke_run_reports_per_job_and_per_scrape(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "metrics.json"
    assert main(["--jobs", "50", "--repeats", "2", "--scrapes", "3", "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert report["benchmark"] == "metrics_cost" and report["per_job"]["jobs"] == 50
    assert report["per_job"]["median_us"] > 0 and report["per_scrape"]["median_ms"] > 0
    assert report["per_scrape"]["bytes"] > 1000  # every family rendered
    assert capsys.readouterr().out.startswith("per job: ")
