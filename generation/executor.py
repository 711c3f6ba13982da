"""The GPU executor: one dedicated thread that owns the engine, driven from asyncio.

Only this thread ever touches the model, so the event loop never blocks on it; progress goes
back to the loop with ``call_soon_threadsafe``. Post-processing (MP3 finishing) is deliberately
*not* done here: the caller runs it elsewhere so the GPU can start the next batch at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from generation.engine import AudioEngine
from generation.errors import Cancelled, GenerationError
from generation.request import GenerationRequest

log = logging.getLogger(__name__)

EngineFactory = Callable[[], AudioEngine]


@dataclass(frozen=True)
class BatchResult:
    """Waveforms of one pipeline call, grouped by request, and how long the call took."""

    waveforms: list[np.ndarray]
    sample_rate: int
    seconds: float


class GpuExecutor:
    """Runs engine calls one at a time on a single worker thread."""

    def __init__(self, factory: EngineFactory) -> None:
        self._factory = factory
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu")
        self._engine: AudioEngine | None = None

    @property
    def engine(self) -> AudioEngine:
        if self._engine is None:
            raise GenerationError("the executor has not been started")
        return self._engine

    async def start(self) -> AudioEngine:
        """Load the model on the worker thread (it then lives there)."""
        if self._engine is None:
            loop = asyncio.get_running_loop()
            self._engine = await loop.run_in_executor(self._pool, self._factory)
        return self._engine

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        waveforms_per_request: int = 1,
    ) -> BatchResult:
        """Generate ``requests`` as one batch.

        ``on_progress(step, total)`` is called on the event loop thread. ``should_stop`` is
        polled on the worker thread between steps; when it returns True the call ends with
        :class:`Cancelled`.
        """
        engine = self.engine
        loop = asyncio.get_running_loop()

        def progress(step: int, total: int) -> None:
            if should_stop is not None and should_stop():
                raise Cancelled()
            if on_progress is not None:
                loop.call_soon_threadsafe(on_progress, step, total)

        def work() -> BatchResult:
            started = time.perf_counter()
            waveforms = engine.generate(
                requests, progress=progress, waveforms_per_request=waveforms_per_request
            )
            return BatchResult(waveforms, engine.sample_rate, time.perf_counter() - started)

        return await loop.run_in_executor(self._pool, work)

    async def close(self) -> None:
        """Wait for the running call (if any) and stop the thread."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
