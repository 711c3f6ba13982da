"""The audio worker process: work runs in another process, and a dead worker costs one job only."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bot.jobs.cpu_pool import CpuPool
from generation.audio.finishing import FinishSettings
from generation.audio.tags import Mp3Tags
from generation.errors import GenerationError
from generation.prompting import build_request
from generation.recipes.clips import finish_clip


def _die() -> None:
    os._exit(3)  # the worker process ends abruptly, as a crash would


async def test_finishing_runs_in_another_process_and_gives_the_same_clip() -> None:
    pool = CpuPool()
    try:
        assert await pool.run(os.getpid) != os.getpid()
        request = build_request("rain", duration=2.5, seed=1)
        wave = (0.1 * np.sin(np.linspace(0, 2000, 16_000 * 3))).astype(np.float32)
        args = (wave, 16_000, request, FinishSettings(), Mp3Tags.from_request(request, "tiny"), False)
        there = await pool.run(finish_clip, *args)
        here = finish_clip(*args)
        assert there.mp3 == here.mp3 and there.request == request
    finally:
        await pool.close()


async def test_a_worker_that_dies_fails_one_call_and_the_next_gets_a_new_worker() -> None:
    pool = CpuPool()
    try:
        with pytest.raises(GenerationError, match="worker process died"):
            await pool.run(_die)
        assert await pool.run(abs, -4) == 4
    finally:
        await pool.close()
