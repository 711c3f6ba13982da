"""The run: each model built in turn, its selected sections measured, the report written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bench.gpu_throughput.measure import Context, Row, sync
from bench.gpu_throughput.report import environment, log_progress, markdown_report, write_report
from bench.gpu_throughput.sections import RUNNERS
from bench.gpu_throughput.settings import SECTIONS, Settings, parse_settings

if TYPE_CHECKING:
    import torch

    from bench.subjects import Subject


def load_pipeline(settings: Settings, subject: Subject, device: torch.device) -> tuple[Any, dict[str, Any]]:
    """The subject's pipeline on ``device`` in the run's dtype, and what to record about it."""
    import torch

    dtype = getattr(torch, settings.dtype)
    started = time.perf_counter()
    if settings.model == "full":
        pipe = subject.build_full(device, dtype, settings.seed)
        parameters = subject.check_parameter_count(pipe)
    else:
        pipe = subject.build_tiny(settings.seed).to(device)
        if dtype != torch.float32:
            pipe.to(dtype=dtype)
        parameters = sum(
            p.numel()
            for c in pipe.components.values()
            if isinstance(c, torch.nn.Module)
            for p in c.parameters()
        )
    attention = subject.engine_class().prepare(pipe)
    sync(device)
    info = {
        "name": subject.full_name if settings.model == "full" else f"{subject.key} tiny (random weights)",
        "parameters": parameters,
        "latent_shape_per_clip": list(subject.latent_shape(pipe, settings.duration)),
        "attention": attention,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    return pipe, info


def _skip_reason(settings: Settings, subject: Subject, section: str) -> str | None:
    if section not in settings.sections:
        return "not selected (--only)"
    if section == "compile" and not settings.compile:
        return "disabled (--no-compile, the default on the CPU)"
    if section == "window" and not subject.fixed_window:
        return f"{subject.key} has no fixed window"
    return None


def run(settings: Settings) -> dict[str, Any]:
    """Run the selected sections on each model in turn; returns the report (also written when asked)."""
    import gc

    import torch

    from bench.subjects import SUBJECTS

    started = time.perf_counter()
    device = torch.device(settings.device)
    report: dict[str, Any] = {
        "benchmark": "bench.gpu_throughput",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": dataclasses.asdict(settings),
        "environment": environment(device),
        "models": {},
        "skipped": {},
        "rows": [],
    }
    rows: list[Row] = []
    ran: set[str] = set()
    reasons: dict[str, str] = {}
    for key in settings.models:
        subject = SUBJECTS[key]
        pipe, info = load_pipeline(settings, subject, device)
        report["models"][key] = info
        log_progress(f"{key} built in {info['build_seconds']}s: {info['parameters'] / 1e6:.1f} M parameters")
        ctx = Context(
            settings=settings,
            subject=subject,
            pipe=pipe,
            device=device,
            default_scheduler=pipe.scheduler,
            report=report,
            rows=rows,
        )
        for section in SECTIONS:
            reason = _skip_reason(settings, subject, section)
            if reason is None:
                RUNNERS[section](ctx)
                ran.add(section)
            else:
                reasons.setdefault(section, reason)
        report["skipped"] = {section: why for section, why in reasons.items() if section not in ran}
        # One model at a time in memory: the next one is built after this one is gone.
        del ctx, pipe
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    write_report(report, settings, rows)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    report = run(settings)
    print(markdown_report(report))
    log_progress(f"done in {report['total_seconds']}s")
    return 0
