"""``ambientgen worker --config PATH``: one GPU worker, taking batches from Redis.

It reads the bot's config file (``[executor]`` for Redis, ``[model]`` for its models — ``id`` and
``also``, every one of which it serves — and its GPU — ``device = "cuda:1"`` for a second worker
on a second GPU — ``[audio]`` for finishing, ``[queue] job_timeout_s`` and ``max_batch``), reaches
Redis, loads and warms its models once, then serves until SIGTERM/Ctrl-C. A problem at start
(bad config, Redis unreachable, model missing) is one line on stderr and a non-zero exit, like
``ambientgen run``.

The queue machinery is SAQ's ``Worker``: it takes batches only from the queues of its models
(:class:`~bot.remote.intake.RoutedQueue`), moving each to the active list atomically, keeps this
worker's presence (with its models, GPU and batch sizes) under ``saq:<queue>:worker_info``, and —
in every worker — sweeps batches whose worker stopped heartbeating back into their queue (with
the sweep rule of :class:`~bot.remote.broker.ResilientQueue`), so a SIGKILLed worker's batch runs
again on another worker that serves its models. This process imports no Discord code.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from saq import Worker

from bot.config import REDIS_PASSWORD_ENV, Config, ConfigError, MetricsConfig, load_config
from bot.health import HealthUnavailable, start_health
from bot.logs import use_format
from bot.metrics import metrics
from bot.monitor import LoopMonitor
from bot.remote.broker import FUNCTION, PROTOCOL, REDIS_DOWN, SLOTS_PER_WORKER, Keys, connect
from bot.remote.gpu import BatchRunner, GpuTurn
from bot.remote.intake import RoutedQueue
from bot.remote.routes import routes_served

log = logging.getLogger(__name__)

#: Clip lengths the worker tells the bot its batch sizes for (the bot takes the next longer one).
BATCH_DURATIONS = (2.5, 5.0, 10.0, 15.0, 20.0, 30.0)
#: How long a stopping worker lets its running batch finish before handing it back to the queue.
SHUTDOWN_GRACE_S = 30


def _fail(message: str, status: int = 2) -> int:
    print(f"ambientgen worker: {message}", file=sys.stderr)
    return status


def run_worker(config_path: Path | None, metrics_port: int | None = None) -> int:
    """Serve until stopped; returns the exit status. ``metrics_port`` overrides ``[metrics] port``."""
    try:
        config = load_config(config_path)
        if metrics_port is not None:
            metrics_section = MetricsConfig(port=metrics_port, host=config.metrics.host)
            config = config.model_copy(update={"metrics": metrics_section})
    except ConfigError as exc:
        return _fail(str(exc).replace("[metrics] port", "--metrics-port"))
    use_format(config.logging.format)
    if not config.executor.remote:
        return _fail('a worker takes its jobs from Redis: set [executor] kind = "redis" (and redis_url)')
    log.info("config: %s", config.summary())
    try:
        return asyncio.run(_serve(config))
    except KeyboardInterrupt:
        return 130


class GpuWorker(Worker):
    """SAQ's worker, with a presence that outlives a slow tick and upkeep that rides out outages."""

    def __init__(self, *args: Any, heartbeat_s: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat_s = heartbeat_s

    async def worker_info(self, ttl: int = 60) -> Any:
        # Presence lasts three heartbeats: one late tick must not make the bot think it is gone.
        return await super().worker_info(ttl=3 * self.heartbeat_s)

    async def stop(self) -> None:
        # SAQ would wait its whole grace for every task, the slot idling in Redis's BLMOVE too:
        # wait for the batches that run, and only for them.
        running = [c["task"] for c in self.job_task_contexts.values() if not c["task"].done()]
        if running:
            log.info("stopping: %d running batch(es) get up to %d s", len(running), SHUTDOWN_GRACE_S)
            await asyncio.wait(running, timeout=SHUTDOWN_GRACE_S)
        # The rest (idle slots, upkeep, a batch past its grace, which SAQ puts back in the
        # queue for another worker) ends now.
        rest = [task for task in self.tasks if not task.done()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await super().stop()

    async def abort(self, abort_threshold: float) -> None:
        # SAQ's abort upkeep looks running batches up in the presence queue, while they live in
        # their routes' queues; and nothing here aborts through SAQ (a user's cancel travels by
        # the stop keys, a dead worker's batch by the sweep). So there is nothing to look up.
        return


def _name(config: Config) -> str:
    device = config.model.device or "auto"
    return f"{socket.gethostname()}/{device}/{os.getpid()}"


async def _serve(config: Config) -> int:
    """With the health endpoints (if configured) around the whole life of the worker."""
    state = WorkerState()
    try:
        health = await start_health(config.metrics.host, config.metrics.port, state.problem)
    except HealthUnavailable as exc:
        return _fail(str(exc))
    monitor = LoopMonitor()
    monitor.start()
    metrics().probes.loop_stall_s = monitor.take_window_worst_s
    try:
        return await _serve_with(config, state)
    finally:
        await monitor.stop()
        if health is not None:
            await health.stop()


class WorkerState:
    """What ``/readyz`` of a worker reports: its models loaded and Redis reachable."""

    def __init__(self) -> None:
        self.runner: BatchRunner | None = None
        self.stopping = False

    def problem(self) -> str | None:
        if self.stopping:
            return "the worker is stopping"
        if self.runner is None:
            return "starting: reaching Redis and loading the models"
        if self.runner.redis_down:
            return "Redis is unreachable"
        return None


async def _serve_with(config: Config, state: WorkerState) -> int:
    from bot.jobs.local_executor import build_local_executor
    from generation.errors import ModelUnavailable

    settings = config.executor
    client = connect(settings.redis_url, os.environ.get(REDIS_PASSWORD_ENV))
    try:
        await client.ping()
    except REDIS_DOWN as exc:
        await client.aclose()
        return _fail(f"can't reach Redis at {settings.redis_url} ({exc}); check [executor] redis_url")
    local = build_local_executor(config)
    try:
        await local.start()
    except ModelUnavailable as exc:
        await local.close()
        await client.aclose()
        return _fail(str(exc), 3)
    except Exception as exc:  # a GPU that is not there, a driver error: still one line
        await local.close()
        await client.aclose()
        return _fail(f"the model could not be loaded: {type(exc).__name__}: {exc}", 3)
    gc.freeze()  # as in the bot: the model's objects live as long as the process
    name = _name(config)
    keys = Keys(settings.queue_name)
    turn = GpuTurn()
    beat = settings.heartbeat_s
    ttl = settings.result_ttl_s
    runner = BatchRunner(local, client, keys, turn, name=name, heartbeat_s=beat, result_ttl_s=ttl)
    metrics().prepare(local.gpu.models)
    metrics().probes.running_jobs = lambda: len(runner.running)
    state.runner = runner
    routes = routes_served(settings.queue_name, local.gpu.models)
    queue = RoutedQueue(client, settings.queue_name, routes, turn=turn)
    worker = GpuWorker(
        queue,
        functions=[(FUNCTION, runner.render_batch)],
        concurrency=SLOTS_PER_WORKER,
        timers={"worker_info": beat, "sweep": beat, "abort": 1, "schedule": 1},
        shutdown_grace_period_s=SHUTDOWN_GRACE_S,
        metadata=_metadata(config, local, name),
        heartbeat_s=beat,
    )
    background = [
        asyncio.create_task(runner.publish_progress(), name="progress"),
        asyncio.create_task(runner.listen_for_stops(), name="stops"),
        asyncio.create_task(queue.listen_for_work(), name="work"),
    ]
    log.info("worker %s serving queue %s of %s (models %s; routes %s)", name, settings.queue_name,
             settings.redis_url, ", ".join(local.gpu.models), ", ".join(routes))  # fmt: skip
    try:
        await queue.connect()
        await worker.start()  # until SIGTERM / SIGINT
    finally:
        state.stopping = True
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await local.close()
        await queue.disconnect()
        log.info("worker %s stopped after %d batch(es)", name, runner.done)
    return 0


def _metadata(config: Config, local: Any, name: str) -> dict[str, Any]:
    """What the bot learns about this worker from its presence (``saq:<queue>:worker_info``)."""
    engine = local.gpu.loaded_engine
    device = f"{engine.device} ({str(engine.dtype).removeprefix('torch.')})" if engine is not None else "-"
    return {
        "protocol": PROTOCOL,
        "name": name,
        "models": list(local.gpu.models),
        "sample_rate": local.sample_rate,
        "device": device,
        "slots": SLOTS_PER_WORKER,
        "max_batch": {str(d): _batch(config, local, d) for d in BATCH_DURATIONS},
    }


def _batch(config: Config, local: Any, duration_s: float) -> int:
    if config.queue.max_batch:
        return config.queue.max_batch
    # One number for every model it serves: the smallest, so a batch fits on any of them.
    return min((int(engine.max_batch(duration_s)) for engine in local.gpu.engines), default=1)
