"""Smoke run of the queue-load benchmark: the report's shape and its own consistency, never its timings."""

from __future__ import annotations

import json
from pathlib import Path

from bench.queue_load import main


def test_smoke_run_reports_both_measurements(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "queue.json"
    assert (
        main(["--jobs", "60", "--changes", "10", "--users", "7", "--guilds", "3", "--output", str(output)])
        == 0
    )
    report = json.loads(output.read_text())
    assert report["benchmark"] == "queue_load" and report["machine"]["cpus"] >= 1
    stall, restart = report["stall"], report["restart"]
    assert (stall["jobs_waiting"], stall["changes"]) == (60, 10)
    assert 0 <= stall["p99_stall_ms"] <= stall["worst_stall_ms"]
    assert stall["status_updates"] >= 60  # every waiting job was shown its place at least once
    assert stall["old_refresh_ms"] > 0 and stall["new_view_ms"] > 0
    assert restart["jobs_queued"] == 60 and restart["status_updates"] == 60
    assert "| restart: recover 60 queued jobs" in capsys.readouterr().out
