"""Reporting: progress lines, the machine and versions, the JSON and markdown results."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.gpu_throughput.measure import MIB

if TYPE_CHECKING:
    import torch

    from bench.gpu_throughput.measure import Context, Row
    from bench.gpu_throughput.settings import Settings


def log_progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def add_row(ctx: Context, row: Row) -> None:
    ctx.rows.append(row)
    log_progress(
        f"{row.model}: {row.label}, batch {row.batch_size}, {row.scheduler} {row.steps} steps: "
        f"{row.seconds_per_clip:.3f} s/clip, {row.clips_per_minute:.1f} clips/min"
    )
    write_outputs(ctx)  # after every row: a run cut short still leaves its results


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and hardware, for comparing runs."""
    import diffusers
    import torch
    import transformers

    cuda = device.type == "cuda"
    props = torch.cuda.get_device_properties(device) if cuda else None
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if cuda
        else platform.processor() or platform.machine(),
        "gpu_memory_mib": round(props.total_memory / MIB) if props else None,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "peak_memory": "torch.cuda.max_memory_allocated" if cuda else "peak RSS (VmHWM) of the process",
    }


def write_outputs(ctx: Context) -> None:
    write_report(ctx.report, ctx.settings, ctx.rows)


def write_report(report: dict[str, Any], settings: Settings, rows: Sequence[Row]) -> None:
    report["rows"] = [dataclasses.asdict(r) for r in rows]
    if settings.output:
        Path(settings.output).write_text(json.dumps(report, indent=2) + "\n")
    if settings.markdown:
        Path(settings.markdown).write_text(markdown_report(report))


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(rows: Sequence[dict[str, Any]], cuda: bool) -> str:
    """One line per measured configuration."""
    columns = ["Model", "Configuration", "Batch", "Scheduler", "Steps", "Prompt cache", "s/clip"]
    columns += ["clips/min", "× baseline", "Denoiser s/step", "Fixed s/clip"]
    columns += ["Peak GPU MiB" if cuda else "Peak RSS MiB"]
    lines = ["| " + " | ".join(columns) + " |", "|---|---|---:|---|---:|---|" + "---:|" * 6]
    for r in rows:
        cells = [
            r["model"],
            r["label"],
            str(r["batch_size"]),
            r["scheduler"],
            str(r["steps"]),
            r["prompt_cache"],
            _fmt(r["seconds_per_clip"], 3),
            _fmt(r["clips_per_minute"], 1),
            _fmt(r["vs_baseline"]),
            _fmt(r.get("denoiser_seconds_per_step"), 3),
            _fmt(r.get("fixed_seconds_per_clip"), 3),
            _fmt(r["peak_gpu_mib"] if cuda else r["peak_rss_mib"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _count(parameters: int) -> str:
    return f"{parameters / 1e9:.3f} B" if parameters >= 1e8 else f"{parameters / 1e3:.1f} k"


def markdown_report(report: dict[str, Any]) -> str:
    env, settings = report["environment"], report["settings"]
    cuda = env["device"].startswith("cuda")
    lines = [
        "# Text-to-audio throughput",
        "",
        f"- Date: {report['date']}",
        f"- Device: {env['device_name']} ({env['device']}), CUDA {env['cuda_version']}, "
        f"torch {env['torch']}, diffusers {env['diffusers']}, transformers {env['transformers']}",
        f"- Clips: {settings['duration']:g} s, {settings['steps']} steps (fast: {settings['fast_steps']}), "
        f"{settings['repeats']} timed repeats after one untimed warm-up call per configuration, "
        f"{settings['dtype']}",
    ]
    for key, model in report.get("models", {}).items():
        lines.append(
            f"- {key}: {model['name']}, {_count(model['parameters'])} parameters, "
            f"latent {model['latent_shape_per_clip']} per clip, built in {model['build_seconds']} s"
        )
    for key, c in report.get("compile", {}).items():
        lines.append(
            f"- torch.compile of {key} ({c['backend']}) + warm-up: {c['compile_and_warm_up_seconds']} s "
            "(excluded)"
        )
    for section, reason in report.get("skipped", {}).items():
        lines.append(f"- Skipped {section}: {reason}")
    lines += ["", markdown_table(report.get("rows", []), cuda)]
    return "\n".join(lines)
