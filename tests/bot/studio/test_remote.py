"""With ``[executor] kind = "redis"`` the studio renders on a real GPU worker (tiny model), through
the bot's remote executor, and gets the samples a render in this process gives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from bot.config import Config, ExecutorConfig, ModelConfig
from bot.studio.engine import JOB_ID_BASE, engine_from_config
from bot.studio.orders import create_order
from bot.studio.remote import StudioRemoteExecutor
from generation.audio.mp3 import decode_mp3
from generation.recipes.order import Progress
from tests.e2e.workers import WorkerProcess
from tests.redis_server import RedisServer, redis_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


async def test_the_studio_renders_on_a_gpu_worker(redis_server: RedisServer, tmp_path: Path) -> None:  # noqa: F811
    worker = WorkerProcess(tmp_path / "worker", redis_server.url, "w1")
    await worker.start()
    engines = []
    try:  # whatever fails from here on, the worker process is stopped
        executor = ExecutorConfig(kind="redis", redis_url=redis_server.url, heartbeat_s=1)
        remote = engine_from_config(Config(model=ModelConfig(id="tiny"), executor=executor))
        engines.append(remote)
        local = engine_from_config(Config(model=ModelConfig(id="tiny")))
        engines.append(local)
        assert isinstance(remote.executor, StudioRemoteExecutor) and not remote.local
        await asyncio.gather(asyncio.to_thread(remote.open), asyncio.to_thread(local.open))
        job = create_order(remote.catalog, prompt="rain on a tin roof", seed="5", duration="2.5", steps="10")
        updates: list[Progress] = []
        far, near = await remote.render(job, progress=updates.append), await local.render(job)
        assert updates and updates[-1].step == updates[-1].total == 10  # progress from the worker
        assert await remote.clap_scores("rain", []) is None  # scores need the models here
        (far_samples, far_rate), (near_samples, near_rate) = (
            decode_mp3(far.posted[0].mp3),
            decode_mp3(near.posted[0].mp3),
        )
        assert far_rate == near_rate and np.array_equal(far_samples, near_samples)
        done = await worker.wait_for_log(r"jobs (\d+): done on")
        assert int(done[1]) >= JOB_ID_BASE  # the studio's job ids never meet the bot's
    finally:
        await asyncio.gather(*(asyncio.to_thread(engine.shutdown) for engine in engines))
        await worker.stop()
    assert not worker.unexpected_errors()
