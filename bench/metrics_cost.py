"""What the Prometheus metrics cost the event loop: per job, and per scrape.

* **per job** — the metric updates one delivered job makes on the loop, exactly as the bot makes
  them (``accepted`` at the insert, the queue wait at its start, ``delivered`` and the job time at
  its end, one batch's render time, GPU time and size), timed over ``--jobs`` jobs; the median of
  ``--repeats`` runs, in microseconds per job.
* **per scrape** — rendering ``/metrics`` (prometheus_client's text format, on the loop) with
  ``--models`` models, every outcome counted and a few Discord error statuses: milliseconds.

    python -m bench.metrics_cost --jobs 20000 --repeats 7 --output metrics.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import generate_latest

from bot.metrics import Metrics


def per_job_us(jobs: int, models: Sequence[str]) -> float:
    """Microseconds of metric updates per delivered job (one job per batch: the worst case)."""
    m = Metrics()
    m.prepare(models)
    started = time.perf_counter()
    for i in range(jobs):
        model = models[i % len(models)]
        m.job_event("accepted", model)  # JobStore.create
        m.job_started(1.5)  # JobStore.mark_running
        m.batch_rendered(model, 2.0, 1)  # Scheduler._observe
        m.job_delivered(model, 4.0)  # JobStore.mark_done
    return (time.perf_counter() - started) / jobs * 1e6


def per_scrape_ms(models: Sequence[str], scrapes: int) -> tuple[float, int]:
    m = Metrics()
    m.prepare(models)
    for model in models:
        for outcome in ("accepted", "delivered", "failed", "cancelled", "refused"):
            m.job_event(outcome, model)
        m.batch_rendered(model, 2.0, 2)
    for status in (404, 429, 500, "network"):
        m.discord_error(status)
    m.probes.queue_jobs = lambda: dict.fromkeys(models, 3)
    m.probes.running_jobs = lambda: 1
    started = time.perf_counter()
    for _ in range(scrapes):
        text = generate_latest(m.registry)
    return (time.perf_counter() - started) / scrapes * 1000, len(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    models = [f"model-{i}" for i in range(args.models)]
    job_runs = [per_job_us(args.jobs, models) for _ in range(args.repeats)]
    scrape_runs = [per_scrape_ms(models, args.scrapes) for _ in range(args.repeats)]
    report = {
        "benchmark": "metrics_cost",
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "per_job": {"jobs": args.jobs, "median_us": statistics.median(job_runs), "runs_us": job_runs},
        "per_scrape": {
            "models": args.models,
            "median_ms": statistics.median(ms for ms, _ in scrape_runs),
            "bytes": scrape_runs[0][1],
        },
    }
    job, scrape = report["per_job"], report["per_scrape"]
    print(
        f"per job: {job['median_us']:.1f} µs of metric updates on the loop "
        f"(median of {args.repeats} runs of {args.jobs} jobs) | per scrape: "
        f"{scrape['median_ms']:.2f} ms for {args.models} models ({scrape['bytes']} bytes)"
    )
    if args.output is not None:
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
