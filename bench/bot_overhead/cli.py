"""The command line: options to settings, the run in a temporary folder, the report written."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.bot_overhead.report import build_report, markdown
from bench.bot_overhead.run import run_benchmark
from bench.bot_overhead.settings import BenchmarkError, Settings
from generation.presets import DEFAULT_STEPS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bot_overhead",
        description="Measure the bot's own overhead (queue, MP3 finishing, storage, upload) through the "
        "real bot process with the tiny model on the CPU, against the local Discord stand-in.",
    )
    parser.add_argument("--users", type=int, default=20, help="users sending one /ambient each, at once")
    parser.add_argument("--duration", type=float, default=10.0, help="clip length in seconds (2.5-30)")
    parser.add_argument(
        "--steps",
        type=int,
        default=DEFAULT_STEPS,
        help=f"denoising steps (default {DEFAULT_STEPS}; fewer only if /ambient offers a steps option)",
    )
    parser.add_argument("--max-batch", type=int, default=0, help="[queue] max_batch (0: auto)")
    parser.add_argument(
        "--batch-window-ms", type=int, default=None, help="[queue] batch_window_ms (default: the bot's)"
    )
    parser.add_argument(
        "--guidance",
        type=float,
        default=6.0,
        help="guidance sent with every request (0: leave it to each preset, which splits batches)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for all results")
    parser.add_argument(
        "--workdir", type=Path, help="folder for the bot's data and log (default: a temp folder)"
    )
    parser.add_argument("--output", type=Path, help="write the report as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the markdown table here")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        users=args.users,
        duration=args.duration,
        steps=args.steps,
        max_batch=args.max_batch,
        batch_window_ms=args.batch_window_ms,
        guidance=args.guidance or None,
        timeout_s=args.timeout,
    )


async def _run(settings: Settings, workdir: Path | None) -> dict[str, Any]:
    if workdir is not None:
        return await run_benchmark(settings, workdir)
    with tempfile.TemporaryDirectory(prefix="ambientgen-bench-") as tmp:
        return await run_benchmark(settings, Path(tmp))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every result was delivered and verified, 1 when not, 2 on errors."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        measured = asyncio.run(_run(settings, args.workdir))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = build_report(settings, measured, argv)
    table = markdown(report)
    print(table)
    if args.output is not None:
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text(table, encoding="utf-8")
    for problem in measured["problems"]:
        print(f"problem: {problem}", file=sys.stderr)
    return 0 if measured["verified"] else 1
