"""The bot with GPU workers across its own restarts, a database reset and a rolling upgrade.

A real ``redis-server``, real ``ambientgen worker`` processes (tiny model) and the real
``ambientgen run`` with ``[executor] kind = "redis"``, end to end.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from bot.remote.broker import PROTOCOL
from bot.remote.routes import route_name
from tests.e2e.harness import World
from tests.e2e.helpers import RESULT_TIMEOUT_S, job_id_of, rerollable, result_of
from tests.e2e.remote import remote_world
from tests.e2e.test_remote_workers import ambient_in, posts_per_job
from tests.e2e.workers import WorkerProcess
from tests.standin import InteractionHandle

pytestmark = pytest.mark.e2e

#: What SIGTERM may take with a render running on a worker (it waits for nothing of it).
PROMPT_EXIT_S = 10.0


async def sigterm(world: World) -> float:
    """Stop the bot with SIGTERM; the seconds it took (it must exit 0)."""
    started = time.monotonic()
    status = await world.bot.stop(signal.SIGTERM, timeout=60)
    took = time.monotonic() - started
    assert status == 0, world.bot.log()[-3000:]
    return took


async def generating(handle: InteractionHandle) -> None:
    await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=RESULT_TIMEOUT_S)


async def test_sigterm_restarts_during_a_remote_render_and_a_database_reset(tmp_path: Path) -> None:
    async with remote_world(tmp_path, workers=1) as world:
        (worker,) = world.workers
        worker.hold("lighthouse")
        handle = await ambient_in(world, world.guild, world.alice, prompt="lighthouse in fog", duration=2.5)
        await generating(handle)
        await worker.wait_for_log(r"jobs 1: starting")

        # Two graceful deploys while the render runs on the worker: each stop is prompt and
        # clean, and neither counts as an attempt of the job (max_attempts is 2).
        stops = []
        for _ in range(2):
            stops.append(await sigterm(world))
            assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["running"]
            await world.bot.start()
            await world.bot.wait_for_log(r"job 1: already in Redis \(batch 1\); waiting on it")
        print(f"SIGTERM with a remote render held: exited 0 after {', '.join(f'{s:.2f}' for s in stops)} s")
        assert max(stops) < PROMPT_EXIT_S, stops
        assert "leaving it" not in world.bot.log()
        worker.release()
        result = await rerollable(world, await result_of(world, handle))
        assert job_id_of(result) == 1 and posts_per_job(world) == {1: 1}
        (row,) = world.bot.db_rows("SELECT status, attempts FROM jobs")
        assert (row["status"], row["attempts"]) == ("done", 1)
        assert len(re.findall(r"jobs 1: done on ", worker.log())) == 1  # rendered once

        # Bob's render finishes on the worker while the bot is down; then the operator resets the
        # database (a fresh data folder) while Redis keeps that result for an hour.
        worker.hold("secret")
        await ambient_in(world, world.guild, world.bob, prompt="bob's secret lullaby", duration=2.5)
        await worker.wait_for_log(r"jobs 2: starting")
        await sigterm(world)
        worker.release()
        await worker.wait_for_log(r"jobs 2: done on ")
        await asyncio.to_thread(shutil.move, world.bot.data_dir, tmp_path / "data-before-reset")
        await world.bot.start()
        first = await ambient_in(world, world.guild, world.carol, prompt="carol's rain", duration=2.5)
        await rerollable(world, await result_of(world, first))
        second = await ambient_in(world, world.guild, world.carol, prompt="carol's wind", duration=2.5)
        await rerollable(world, await result_of(world, second))
        # Job 2 of the new database got its own soundscape, never bob's (nor his prompt).
        rows = world.bot.db_rows("SELECT job_id, user_text FROM generations ORDER BY job_id")
        assert [(r["job_id"], r["user_text"]) for r in rows] == [(1, "carol's rain"), (2, "carol's wind")]
        assert re.search(r"batch \S+/2\.\w+ in Redis was made by another database", world.bot.log())
        assert len(re.findall(r"jobs 2: done on ", worker.log())) == 2  # bob's, then carol's


async def test_a_worker_of_another_protocol_never_takes_work(tmp_path: Path) -> None:
    async with remote_world(tmp_path, workers=1, start_workers=False) as world:
        (current,) = world.workers
        # A rolling upgrade: a worker of the next release is already up, the bot not yet upgraded.
        newer = PROTOCOL + 1
        other = WorkerProcess(current.workdir, world.redis.url, "new-worker", heartbeat_s=1, protocol=newer)
        try:
            await other.start()
            # Only the worker of another protocol is online: for the bot, no worker is.
            first = await ambient_in(world, world.guild, world.alice, prompt="first light", duration=2.5)
            await first.wait_original(lambda m: m["content"].endswith("waiting for a GPU worker"), timeout=30)
            await world.bot.wait_for_log(rf"ignoring worker \S+: protocol {newer}, the bot speaks {PROTOCOL}")

            # The bot's own protocol comes: the job goes to it (held), and the next one waits in
            # Redis for its GPU while the other worker idles beside it.
            current.hold("first")
            await current.start()
            await current.wait_for_log(r"jobs 1: starting")
            second = await ambient_in(world, world.guild, world.bob, prompt="second wind", duration=2.5)
            await world.bot.wait_for_log(r"jobs 2: handed to the GPU workers")
            # Nothing to wait for when nothing may happen: the idle worker looks at its queues
            # every second and on every word of the bot; give it a few chances.
            await asyncio.sleep(3.0)
            queued = f"saq:{route_name('ambientgen', ['tiny'])}:queued"
            assert await asyncio.to_thread(_llen, world.redis.port, queued) == 1
            assert not re.search(r"jobs \d+: starting", other.log())

            current.release()
            for handle in (first, second):
                await rerollable(world, await result_of(world, handle))
            assert posts_per_job(world) == {1: 1, 2: 1}
            assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["done", "done"]
            assert not re.search(r"jobs \d+: (starting|done on)", other.log())
        finally:
            await other.stop()
        assert not other.unexpected_errors()


def _llen(port: int, key: str) -> int:
    import redis

    with redis.Redis(port=port) as client:
        return int(client.llen(key))
