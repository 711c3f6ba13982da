"""Voice packet timing while the GPU thread generates: does playback stutter under load?

Runs the real ``ambientgen run`` process (built-in tiny model) against the Discord stand-in,
starts a looping soundscape in a voice channel, records every voice packet's arrival at the
stand-in's UDP socket, then queues ``--jobs`` generations from ``--jobs`` users at once. The
inter-packet intervals are reported for a quiet stretch (nothing generating) and for the
packets that arrived while the executor thread was generating (its windows are read from the
bot's log: "generating …" to "… generated in …"). Discord expects one 20 ms frame every 20 ms;
the target is p99 ≤ 25 ms while generating. Sequence numbers are checked for gaps too.

Arrival times are the kernel's receive stamps (Linux), so they measure when the bot sent each
packet, not how busy the receiving process was.

    python -m bench.voice_jitter --jobs 8 --duration 10 --output voice.json --markdown voice.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.bot_overhead.run import listeners, prompt_for
from bench.bot_overhead.stats import percentile
from bench.bot_overhead.system import machine, versions
from tests.e2e.harness import World, running_world
from tests.e2e.helpers import RESULT_TIMEOUT_S, is_result
from tests.e2e.voice import command, loop_result, play_button, private_answer, voice_world

TARGET_P99_MS = 25.0
_WINDOW = re.compile(
    r"^(?P<start>\S+ \S+) .*msg=jobs? (?P<jobs>[\d,]+): generating"
    r"|^(?P<end>\S+ \S+) .*job=(?P<job>\d+) \S+ msg=batch of .* generated in",
    re.MULTILINE,
)


def generation_windows(log: str) -> list[tuple[float, float]]:
    """(start, end) wall-clock seconds of every pipeline call in the bot's log.

    The scheduler hands the next batch to the GPU thread before the running one has finished, so
    starts and ends interleave: each end is paired with the start of its own batch (the end line
    carries the batch's first job id).
    """
    windows: list[tuple[float, float]] = []
    started: dict[str, float] = {}
    for match in _WINDOW.finditer(log):
        stamp = match.group("start") or match.group("end")
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if match.group("start"):
            started[match.group("jobs").split(",")[0]] = at
        elif (start := started.pop(match.group("job"), None)) is not None:
            windows.append((start, at))
    return windows


def stats(intervals: np.ndarray) -> dict[str, float | int | None]:
    values = [float(v) for v in intervals]

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    return {
        "p50": r(percentile(values, 50)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values, default=None)),
        "count": len(values),
    }


async def measure(world: World, jobs: int, duration: float, quiet_s: float) -> dict[str, Any]:
    await voice_world(world)
    result = await loop_result(world, world.alice, "rain on a tent", seed=2)
    await private_answer(await play_button(world, result, world.alice))
    capture = await world.standin.wait_for_voice_frames(world.guild.id, 75)  # past the fade-in
    quiet_from = len(capture)
    await world.standin.wait_for_voice_frames(world.guild.id, round(quiet_s * 50), since=quiet_from)
    quiet_to = len(capture)
    users = listeners(world, jobs)
    before = len([m for m in world.standin.messages_in(world.channel_id) if is_result(m)])
    for index, user in enumerate(users):
        await command(world, "ambient", user, prompt=prompt_for(index), duration=duration)
    await world.standin.wait_until(
        lambda: (
            len([m for m in world.standin.messages_in(world.channel_id) if is_result(m)]) >= before + jobs
        ),
        timeout=RESULT_TIMEOUT_S * jobs,
    )
    frames = list(capture.frames)
    arrivals = np.array([f.arrival for f in frames])  # wall clock, like the bot's log
    intervals = np.diff(arrivals) * 1000.0
    windows = generation_windows(world.bot.log())[1:]  # the first one made the loop itself
    busy = np.zeros(intervals.shape[0], dtype=bool)
    for start, end in windows:
        busy |= (arrivals[1:] >= start) & (arrivals[1:] <= end)
    sequences = np.array([f.sequence for f in frames])
    gaps = int(np.count_nonzero(np.diff(sequences) % 65536 != 1))
    return {
        "quiet": stats(intervals[quiet_from:quiet_to]),
        "generating": stats(intervals[busy]),
        # Time the busy intervals cover (windows may overlap: the next batch is handed over early).
        "generating_s": round(float(np.diff(arrivals)[busy].sum()), 2),
        "pipeline_calls": len(windows),
        "sequence_gaps": gaps,
        "worst_event_loop_stall_ms": world.bot.worst_loop_stall_ms(),
        # The machine may be shared: its load says how much else competed for the CPUs.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def markdown(report: dict[str, Any]) -> str:
    m, s = report["measured"], report["settings"]
    rows = [
        "| Stretch | Intervals | p50 (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|---|",
    ]
    for name in ("quiet", "generating"):
        v = m[name]
        rows.append(f"| {name} | {v['count']} | {v['p50']} | {v['p99']} | {v['max']} |")
    machine_info = report["machine"]
    verdict = "met" if (m["generating"]["p99"] or 1e9) <= TARGET_P99_MS else "NOT met"
    return "\n".join(
        [
            *rows,
            "",
            f"Target p99 ≤ {TARGET_P99_MS:g} ms while generating: **{verdict}**. "
            f"{m['pipeline_calls']} pipeline calls, {m['generating_s']} s generating; "
            f"sequence gaps: {m['sequence_gaps']}; worst event-loop stall "
            f"{m['worst_event_loop_stall_ms']} ms; load average {m['load_average']}.",
            f"Settings: {s['jobs']} jobs of {s['duration']} s (tiny model, 50 steps, CPU), Opus "
            f"{s['bitrate_kbps']} kbps. Machine: {machine_info['cpu_model']}, "
            f"{machine_info['cpus_usable']} usable CPUs.",
        ]
    )


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    overrides = {"voice": {"default_volume": 100}}
    async with running_world(workdir, overrides) as world:
        return await measure(world, args.jobs, args.duration, args.quiet)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice_jitter", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=8, help="generations queued at once while playing")
    parser.add_argument("--duration", type=float, default=10.0, help="clip length of each job (2.5-30 s)")
    parser.add_argument("--quiet", type=float, default=5.0, help="seconds measured with nothing generating")
    parser.add_argument("--output", type=Path, help="write the report as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the markdown table here")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    with tempfile.TemporaryDirectory(prefix="ambientgen-voice-bench-") as tmp:
        measured = asyncio.run(run(args, Path(tmp)))
    report = {
        "settings": {
            "jobs": args.jobs,
            "duration": args.duration,
            "quiet_s": args.quiet,
            "bitrate_kbps": 128,
        },
        "measured": measured,
        "machine": machine(),
        "versions": versions(),
        "command": "python -m bench.voice_jitter " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    table = markdown(report)
    print(table)
    if args.output is not None:
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 0 if (measured["generating"]["p99"] or 1e9) <= TARGET_P99_MS else 1


if __name__ == "__main__":
    sys.exit(main())
