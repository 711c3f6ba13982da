"""End-to-end worlds whose bot runs its jobs on GPU workers through a real Redis.

:func:`remote_world` starts a ``redis-server`` on a free loopback port, ``ambientgen worker``
processes (tiny model) and the bot with ``[executor] kind = "redis"``, on a stand-in with two
servers on two gateway shards. At the end every worker's log is checked for unexpected ERROR
records like the bot's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from tests.e2e.harness import World, running_world
from tests.e2e.workers import WorkerProcess
from tests.redis_server import running_redis

#: Seconds between a worker's signs of life in these tests (a dead one is noticed after ~3).
HEARTBEAT_S = 1


@contextlib.asynccontextmanager
async def remote_world(
    workdir: Path,
    *,
    workers: int = 2,
    start_workers: bool = True,
    shards: int = 2,
    overrides: dict[str, dict[str, object]] | None = None,
    worker_models: Sequence[Sequence[str]] | None = None,
) -> AsyncIterator[World]:
    """``worker_models``: the models of each worker (its ``[model] id`` first, then ``also``), one
    worker per entry; default ``workers`` workers of the tiny model."""
    models = list(worker_models) if worker_models is not None else [["tiny"]] * workers
    with running_redis(workdir / "redis") as redis:
        procs = [
            WorkerProcess(
                workdir / "workers",
                redis.url,
                f"worker{i + 1}",
                heartbeat_s=HEARTBEAT_S,
                overrides={"model": {"id": ids[0], "also": [{"id": other} for other in ids[1:]]}},
            )
            for i, ids in enumerate(models)
        ]
        sections: dict[str, dict[str, object]] = {
            "executor": {"kind": "redis", "redis_url": redis.url, "heartbeat_s": HEARTBEAT_S}
        }
        for section, values in (overrides or {}).items():
            sections.setdefault(section, {}).update(values)
        passed = False
        try:
            if start_workers:
                await asyncio.gather(*(w.start() for w in procs))
            async with running_world(workdir, sections, second_guild=True, shards=shards) as world:
                world.workers = procs
                world.redis = redis
                yield world
            passed = True
        finally:
            for worker in procs:
                await worker.stop()
        for worker in procs if passed else []:
            unexpected = worker.unexpected_errors()
            assert not unexpected, f"{worker.name} logged errors the test did not expect:\n" + "\n---\n".join(
                unexpected
            )


def hold_everywhere(world: World, *texts: str) -> None:
    for worker in world.workers:
        worker.hold(*texts)


def release_everywhere(world: World) -> None:
    for worker in world.workers:
        worker.release()
