"""Queue bookkeeping under load: the event-loop stall per queue change, and recovery at start.

Two measurements, with the bot's real queue, fairness, status pusher and SQLite stores (no model,
no Discord: status edits are counted, not sent):

* **stall** — ``--jobs`` jobs wait (from ``--users`` users in ``--guilds`` servers); then
  ``--changes`` changes happen one after another (a job is taken, a new one arrives). A monitor
  task measures how late the event loop wakes while the queue re-orders, re-estimates and pushes
  positions: the worst and the 99th percentile stall. Side by side, in the same run, the previous
  design's refresh (every waiting job's ETA recomputed by walking the order up to it: quadratic)
  is timed on the same queue, so the two read as a ratio.
* **restart** — a database with ``--jobs`` queued jobs (a few of them left ``running`` by a
  crash) is opened and recovered the way the bot starts: requeue, one bulk insert into the queue,
  the first status pass.

    python -m bench.queue_load --jobs 1000 --changes 200 --output queue.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.jobs.queue import JobQueue
from bot.jobs.queue_status import QueueStatus
from bot.storage import Database, Job, JobStore
from bot.ui.job_texts import queued_text
from generation.prompting import build_request


class CountingMessenger:
    """Stands in for the Discord side of status updates: counts them, sends nothing."""

    def __init__(self) -> None:
        self.updates = 0

    def update_status(self, job: Job, text: str) -> None:
        self.updates += 1


class StallMonitor:
    """Sleeps 1 ms at a time and records how late the loop woke, and how much of that lateness was
    this thread's own CPU work (the stall the bot causes) rather than other processes' turn on a
    shared machine."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self.busy_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.001)
            self.late_ms.append(max(0.0, (time.perf_counter() - before - 0.001) * 1000))
            self.busy_ms.append((time.thread_time() - cpu_before) * 1000)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def _seed_jobs(store: JobStore, count: int, users: int, guilds: int) -> list[Job]:
    request = build_request("rain on a tin roof", duration=10.0, seed=1)
    jobs = []
    for i in range(count):
        user = 1000 + i % users
        jobs.append(
            await store.create(
                kind="ambient", user_id=user, user_name=f"user{user}", guild_id=(i % guilds) or None,
                channel_id=5000 + i % guilds, request=request.with_seed(i),
            )
        )  # fmt: skip
    return jobs


def naive_refresh(queue: JobQueue) -> int:
    """The previous design: for every waiting job, walk the fair order up to it to sum the ETA."""
    shown = 0
    order = queue.ordered
    waiting = order()
    for position, job in enumerate(waiting, start=1):
        eta = 0.0
        for ahead in order():  # the old eta_for re-read the order for each job
            if ahead.id == job.id:
                break
            eta += queue.estimator.estimate_units(queue.sizes.of(ahead).units)
        queued_text(position, len(waiting), eta)
        shown += 1
    return shown


async def measure_stall(db: Database, jobs: int, changes: int, users: int, guilds: int) -> dict[str, Any]:
    store = JobStore(db)
    seeded = await _seed_jobs(store, jobs + changes, users, guilds)
    queue = JobQueue()
    messenger = CountingMessenger()
    status = QueueStatus(queue, messenger, lambda: True)  # type: ignore[arg-type]
    await queue.put_many(seeded[:jobs])
    await asyncio.sleep(0)  # the coalesced change notice runs
    await status.idle()
    gc.freeze()  # as the bot does once it has started (see bot/runner.py)
    monitor = StallMonitor()
    monitor.start()
    started = time.perf_counter()
    for arriving in seeded[jobs:]:
        (taken,) = await queue.take()
        queue.set_running([taken])
        await queue.put(arriving)
        await asyncio.sleep(0.002)  # the bot does other work between changes
    await status.idle()
    elapsed = time.perf_counter() - started
    await monitor.stop()
    # The old refresh, timed on the same queue (one change's worth of work).
    naive_s = []
    for _ in range(3):
        before = time.perf_counter()
        naive_refresh(queue)
        naive_s.append(time.perf_counter() - before)
    view_s = []
    for _ in range(3):
        before = time.perf_counter()
        queue.view(fresh=True)
        view_s.append(time.perf_counter() - before)
    late, busy = sorted(monitor.late_ms), sorted(monitor.busy_ms)
    return {
        "jobs_waiting": jobs,
        "changes": changes,
        "worst_stall_ms": round(busy[-1], 2),
        "p99_stall_ms": round(busy[int(0.99 * (len(busy) - 1))], 2),
        "worst_wall_late_ms": round(late[-1], 2),
        "p99_wall_late_ms": round(late[int(0.99 * (len(late) - 1))], 2),
        "status_updates": messenger.updates,
        "wall_s": round(elapsed, 3),
        "new_view_ms": round(min(view_s) * 1000, 2),
        "old_refresh_ms": round(min(naive_s) * 1000, 2),
        "old_over_new": round(min(naive_s) / max(min(view_s), 1e-9), 1),
    }


async def measure_restart(root: Path, jobs: int, users: int, guilds: int) -> dict[str, Any]:
    path = root / "restart.sqlite3"
    async with Database.open(path) as db:
        store = JobStore(db)
        seeded = await _seed_jobs(store, jobs, users, guilds)
        for job in seeded[:3]:  # a crash left a batch running
            await store.mark_running(job.id)
    started = time.perf_counter()
    async with Database.open(path) as db:
        store = JobStore(db)
        opened = time.perf_counter()
        queued, _ = await store.requeue_interrupted(max_attempts=2)
        queue = JobQueue()
        messenger = CountingMessenger()
        status = QueueStatus(queue, messenger, lambda: True)  # type: ignore[arg-type]
        await queue.put_many(queued)
        await asyncio.sleep(0)  # the coalesced change notice runs
        await status.idle()
        ready = time.perf_counter()
    return {
        "jobs_queued": len(queued),
        "open_s": round(opened - started, 3),
        "recover_s": round(ready - opened, 3),
        "total_s": round(ready - started, 3),
        "status_updates": messenger.updates,
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cpus": os.cpu_count(), "python": platform.python_version()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with Database.open(Path(tmp) / "stall.sqlite3") as db:
            stall = await measure_stall(db, args.jobs, args.changes, args.users, args.guilds)
        restart = await measure_restart(Path(tmp), args.jobs, args.users, args.guilds)
    return {
        "benchmark": "queue_load",
        "command": "python -m bench.queue_load " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "settings": {"jobs": args.jobs, "changes": args.changes, "users": args.users, "guilds": args.guilds},
        "stall": stall,
        "restart": restart,
    }


def markdown(report: dict[str, Any]) -> str:
    s, r, m = report["stall"], report["restart"], report["machine"]
    return "\n".join(
        [
            f"Machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}. Command: `{report['command']}`",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| jobs waiting / changes | {s['jobs_waiting']} / {s['changes']} |",
            f"| worst event-loop stall (own CPU work between two wake-ups) | {s['worst_stall_ms']} ms "
            f"(p99 {s['p99_stall_ms']} ms) |",
            f"| worst wake-up lateness on the wall clock (includes other processes) | "
            f"{s['worst_wall_late_ms']} ms (p99 {s['p99_wall_late_ms']} ms) |",
            f"| one full re-order and re-estimate (this design) | {s['new_view_ms']} ms |",
            f"| one refresh, previous design (per-job ETA walk) | {s['old_refresh_ms']} ms "
            f"({s['old_over_new']}× slower) |",
            f"| restart: open + migrate the database | {r['open_s']} s |",
            f"| restart: recover {r['jobs_queued']} queued jobs, first status pass | {r['recover_s']} s |",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs waiting (default 1000)")
    parser.add_argument("--changes", type=int, default=200, help="queue changes measured (default 200)")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--guilds", type=int, default=20)
    parser.add_argument("--output", type=Path, help="write the JSON report here")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    if args.output is not None:
        args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
