"""The measured numbers and the delivery checks, read from the database, the stand-in and the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bench.bot_overhead.logs import idle_gaps
from bench.bot_overhead.stats import summary
from tests.e2e.helpers import decode, job_id_of, results

if TYPE_CHECKING:
    from bench.bot_overhead.settings import Settings
    from tests.e2e.harness import World
    from tests.standin import InteractionResponse


def collect(
    world: World, settings: Settings, responses: Sequence[InteractionResponse], exit_code: int
) -> dict[str, Any]:
    """Numbers and checks from the database, the stand-in and the bot's log."""
    jobs = world.bot.db_rows(
        "SELECT id, status, created_at, started_at, posting_started_at, finished_at, gen_seconds,"
        " result_message_id FROM jobs ORDER BY id"
    )
    generations = world.bot.db_rows("SELECT job_id, steps, duration_s FROM generations")
    problems: list[str] = []
    if exit_code != 0:
        problems.append(f"the bot exited with {exit_code}")
    if len(jobs) != len(responses):
        problems.append(f"{len(jobs)} jobs in the database for {len(responses)} commands")
    done = [j for j in jobs if j["status"] == "done"]
    problems += [f"job {j['id']} ended {j['status']}" for j in jobs if j["status"] != "done"]

    # Delivery: exactly one result message per job, carrying one MP3 of the asked length.
    by_job: dict[int, list[dict[str, Any]]] = {}
    for message in results(world):
        by_job.setdefault(job_id_of(message), []).append(message)
    delivered = 0
    for job in jobs:
        messages = by_job.get(job["id"], [])
        if len(messages) != 1:
            problems.append(f"job {job['id']}: {len(messages)} result messages")
            continue
        (message,) = messages
        attachments = message.get("attachments", [])
        mp3s = [a for a in attachments if a["filename"].endswith(".mp3")]
        if len(attachments) != 1 or len(mp3s) != 1:
            problems.append(f"job {job['id']}: attachments {[a['filename'] for a in attachments]}")
            continue
        frames, rate = decode(world, mp3s[0])
        if abs(frames / rate - settings.duration) > 0.05:
            problems.append(f"job {job['id']}: MP3 lasts {frames / rate:.2f} s, not {settings.duration:g} s")
            continue
        if job["result_message_id"] != int(message["id"]):
            problems.append(f"job {job['id']}: result_message_id does not match the posted message")
            continue
        delivered += 1
    steps_run = sorted({g["steps"] for g in generations})
    if steps_run != [settings.steps]:
        problems.append(f"generations ran {steps_run} steps, not {settings.steps}")

    timed = [j for j in done if j["started_at"] and j["finished_at"] and j["gen_seconds"] is not None]
    spans = [j["finished_at"] - j["started_at"] for j in timed]
    overhead_s = [span - j["gen_seconds"] for span, j in zip(spans, timed, strict=True)]
    overhead_pct = [100 * o / span for o, span in zip(overhead_s, spans, strict=True) if span > 0]
    # Where the overhead goes: the post (from recording the intent to post until done) and the
    # rest (marking running, MP3 finishing, saving the file and rows, waiting for the CPU).
    post_s = [j["finished_at"] - j["posting_started_at"] for j in timed if j["posting_started_at"]]

    # One pipeline call made every job of a batch: they share its gen_seconds (the same float).
    batches: dict[float, list[sqlite3.Row]] = {}
    for job in timed:
        batches.setdefault(job["gen_seconds"], []).append(job)
    ordered_batches = sorted(batches.values(), key=lambda b: min(j["started_at"] for j in b))
    batch_sizes = [len(b) for b in ordered_batches]
    pipeline_per_job = [j["gen_seconds"] / len(b) for b in ordered_batches for j in b]
    pipeline_total = sum(b[0]["gen_seconds"] for b in ordered_batches)
    # Jobs of a batch are marked running one after another; where that happens after the
    # pipeline call has begun, started_at lags the call's start and the overhead above reads
    # low by up to this spread.
    marking = [
        (max(j["started_at"] for j in b) - min(j["started_at"] for j in b)) * 1000
        for b in ordered_batches
        if len(b) > 1
    ]

    first_created = min((j["created_at"] for j in jobs), default=None)
    last_finished = max((j["finished_at"] for j in done if j["finished_at"]), default=None)
    wall = (last_finished - first_created) if first_created and last_finished else None
    gaps, gap_form = idle_gaps(world.bot.log())
    round_trips = [r.elapsed * 1000 for r in responses]

    return {
        "jobs": len(jobs),
        "jobs_done": len(done),
        "results_delivered": delivered,
        "verified": not problems,
        "problems": problems,
        "steps_run": steps_run,
        "overhead_ms": summary([o * 1000 for o in overhead_s]),
        "overhead_pct_of_job": summary(overhead_pct),
        "posting_ms": summary([p * 1000 for p in post_s]),
        "round_trip_ms": summary(round_trips),
        "queue_wait_s": summary([j["started_at"] - j["created_at"] for j in timed], 2),
        "latency_s": summary([j["finished_at"] - j["created_at"] for j in timed], 2),
        "pipeline_s_per_job": summary(pipeline_per_job, 3),
        "batch_sizes": batch_sizes,
        "batches": len(batch_sizes),
        "batch_start_spread_ms": summary(marking),
        "wall_s": None if wall is None else round(wall, 2),
        "jobs_per_minute": None if not wall else round(len(done) / wall * 60, 1),
        "pipeline_busy_pct": None if not wall else round(100 * pipeline_total / wall, 1),
        "idle_gap_ms": {"log_form": gap_form, **summary(gaps)},
    }
