"""CPU-heavy audio work in a separate process, so it never holds the bot's GIL.

Finishing a clip (the loop search, loudness, MP3 encoding), mixing a scene and drawing a
spectrogram are NumPy-heavy but also Python-heavy: run in a thread of the bot's process they hold
the interpreter lock for tens of milliseconds at a time, which the event loop and live voice
playback (a packet every 20 ms) feel as stutters. In a worker process they cost the bot only the
time to send the waveform over and the MP3 back. The worker is started on first use with the
"spawn" method (a fork of a process that holds a model and threads is unsafe); if it dies, the job
that was in it fails and the next call starts a new one. The worker watches the bot
(:mod:`bot.jobs.parent_watch`) and exits when it dies, even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from bot.jobs.parent_watch import watch_parent
from generation.errors import GenerationError

log = logging.getLogger(__name__)

T = TypeVar("T")


class CpuPool:
    """Runs picklable functions in worker processes (see the module docstring)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor(), fn, *args)
        except BrokenProcessPool as exc:
            log.error("the audio worker process died; starting a new one for the next job")
            self._pool = None
            raise GenerationError("the audio worker process died while finishing this soundscape") from exc

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, lambda: pool.shutdown(cancel_futures=True))
