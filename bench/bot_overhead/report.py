"""The report: settings, machine, versions and targets beside the results, as JSON and markdown."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.bot_overhead.system import machine, versions

if TYPE_CHECKING:
    from bench.bot_overhead.settings import Settings

#: The issue's targets: overhead under 5 % of a 10-second, 50-step GPU job (about 10 s of GPU
#: time, see ``bot/jobs/estimate.py``), and executor idle gaps under 20 ms while work waits.
REFERENCE_GPU_JOB_S = 10.0
OVERHEAD_TARGET_PCT = 5.0
IDLE_GAP_TARGET_MS = 20.0


def build_report(settings: Settings, measured: dict[str, Any], argv: Sequence[str]) -> dict[str, Any]:
    return {
        "benchmark": "bot_overhead",
        "command": shlex.join(["python", "-m", "bench.bot_overhead", *argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": {
            **asdict(settings),
            "model": "tiny",
            "device": "cpu",
            # The end-to-end harness starts the bot with one torch thread (OMP_NUM_THREADS=1).
            "bot_torch_threads": 1,
            "bot_config_overrides": settings.overrides(),
            "variations": 1,
        },
        "targets": {
            "overhead_pct_of_reference_gpu_job": OVERHEAD_TARGET_PCT,
            "reference_gpu_job_s": REFERENCE_GPU_JOB_S,
            "overhead_budget_ms": OVERHEAD_TARGET_PCT / 100 * REFERENCE_GPU_JOB_S * 1000,
            "idle_gap_ms": IDLE_GAP_TARGET_MS,
        },
        "results": measured,
    }


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}{unit}"
    return f"{value}{unit}"


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table (plus the settings and machine it ran on)."""
    r = report["results"]
    s = report["settings"]
    m = report["machine"]
    t = report["targets"]
    gap = r["idle_gap_ms"]
    cpu = r["cpu_during_load"]
    if gap["count"]:
        gap_text = f"{_fmt(gap['p50'])} / {_fmt(gap['max'])} ms over {gap['count']} gaps ({gap['log_form']})"
    else:
        gap_text = gap["log_form"]
    rows = [
        ("Jobs done / delivered / sent", f"{r['jobs_done']} / {r['results_delivered']} / {r['jobs']}"),
        ("All results verified", "yes" if r["verified"] else "NO: " + "; ".join(r["problems"][:5])),
        (
            "Overhead per job outside the pipeline call, p50 / p95",
            f"{_fmt(r['overhead_ms']['p50'])} / {_fmt(r['overhead_ms']['p95'])} ms",
        ),
        (
            "… as a share of the job's time, p50 / p95",
            f"{_fmt(r['overhead_pct_of_job']['p50'])} / {_fmt(r['overhead_pct_of_job']['p95'])} %",
        ),
        (
            "… of which posting the result (intent recorded → done), p50 / p95",
            f"{_fmt(r['posting_ms']['p50'])} / {_fmt(r['posting_ms']['p95'])} ms",
        ),
        (
            "Command round trip (interaction → deferred), p50 / p95 / max",
            f"{_fmt(r['round_trip_ms']['p50'])} / {_fmt(r['round_trip_ms']['p95'])} / "
            f"{_fmt(r['round_trip_ms']['max'])} ms",
        ),
        ("Executor idle gap with work waiting, p50 / max", gap_text),
        ("Jobs per minute (all users at once)", _fmt(r["jobs_per_minute"])),
        (
            "Pipeline seconds per job, p50 / mean",
            f"{_fmt(r['pipeline_s_per_job']['p50'])} / {_fmt(r['pipeline_s_per_job']['mean'])} s",
        ),
        ("Batch sizes seen (in order)", ", ".join(map(str, r["batch_sizes"])) or "—"),
        (
            "Spread of started_at within a batch (jobs marked running one by one), p50 / max",
            f"{_fmt(r['batch_start_spread_ms']['p50'])} / {_fmt(r['batch_start_spread_ms']['max'])} ms",
        ),
        ("Pipeline busy share of the wall time", _fmt(r["pipeline_busy_pct"], " %")),
        (
            "Queue wait, p50 / max",
            f"{_fmt(r['queue_wait_s']['p50'])} / {_fmt(r['queue_wait_s']['max'])} s",
        ),
        ("First command → last result", _fmt(r["wall_s"], " s")),
        ("Worst event-loop stall", f"{_fmt(r['worst_loop_stall_ms'], ' ms')} ({r['worst_loop_stall_when']})"),
        (
            "CPU cores busy during the load: bot / stand-in + this script / other processes",
            f"{_fmt(cpu['bot_cores'])} / {_fmt(cpu['standin_cores'])} / {_fmt(cpu['other_cores'])}",
        ),
        (
            "Machine load average (1 min) before / after the load",
            f"{_fmt(r['load_average_1min']['before'])} / {_fmt(r['load_average_1min']['after'])}",
        ),
    ]
    lines = [
        f"Command: `{report['command']}`",
        "",
        f"Machine: {m['cpu_model'] or 'unknown CPU'}, {m['cpu_count']} CPUs ({m['cpus_usable']} usable), "
        f"{m['memory_gib']} GiB, {m['platform']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v),
        "",
        f"Settings: {s['users']} users × one /ambient each, at once; {s['duration']:g} s clips, "
        f"{s['steps']} steps, guidance {_fmt(s['guidance']) if s['guidance'] is not None else 'per preset'}, "
        f"1 variation; model {s['model']} on {s['device']} ({s['bot_torch_threads']} torch thread); "
        f"bot config overrides {json.dumps(s['bot_config_overrides'])}.",
        "",
        "| Measure | Value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"Targets (from the issue, for a {t['reference_gpu_job_s']:g}-second 50-step GPU job): "
        f"overhead under {t['overhead_pct_of_reference_gpu_job']:g} % (= {t['overhead_budget_ms']:g} ms), "
        f"idle gap under {t['idle_gap_ms']:g} ms.",
    ]
    return "\n".join(lines) + "\n"
