"""The audio worker process: work runs in another process, a dead worker costs one job only, and
a dead bot leaves no worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.jobs.cpu_pool import CpuPool
from generation.audio.finishing import FinishSettings
from generation.audio.tags import Mp3Tags
from generation.errors import GenerationError
from generation.prompting import build_request
from generation.recipes.clips import finish_clip
from tests.processes import descendants, running, still_running

REPO = Path(__file__).resolve().parents[3]

#: A "bot" that starts its audio worker, says the worker's pid, then waits to be killed.
_BOT = """
import asyncio, os, sys
from bot.jobs.cpu_pool import CpuPool

async def main():
    pool = CpuPool()
    print(await pool.run(os.getpid), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""
#: The same with the worker watching its parent by polling only (where no death signal exists).
_POLLING_BOT = """
import multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
from tests.bot.jobs.test_cpu_pool import watch_by_polling_only

pool = ProcessPoolExecutor(
    1, mp_context=multiprocessing.get_context("spawn"),
    initializer=watch_by_polling_only, initargs=(os.getpid(),),
)
print(pool.submit(os.getpid).result(), flush=True)
sys.stdin.read()
"""


def watch_by_polling_only(parent_pid: int) -> None:
    """:func:`watch_parent` as on a system without ``PR_SET_PDEATHSIG`` (runs in the worker)."""
    from bot.jobs import parent_watch

    parent_watch._death_signal = lambda: False
    parent_watch.watch_parent(parent_pid)


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


@pytest.mark.parametrize("bot_code", [_BOT, _POLLING_BOT], ids=["death signal", "polling only"])
def test_a_sigkilled_bot_leaves_no_audio_worker_or_resource_tracker_behind(bot_code: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", bot_code], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as bot:
        try:
            assert bot.stdout is not None
            worker = int(bot.stdout.readline())
            left = descendants(bot.pid)
            assert worker in left and running(worker)
            assert any("resource_tracker" in what for what in left.values()), left  # also to be gone
        finally:
            bot.send_signal(signal.SIGKILL)  # no handler, no atexit, no pool shutdown
            bot.wait()
    leftovers = still_running(left, timeout=10.0)
    for pid in leftovers:  # a failing run leaves nothing behind either
        os.kill(pid, signal.SIGKILL)
    assert leftovers == {}
