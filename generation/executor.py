"""The GPU executor: one dedicated thread that owns the engine, driven from asyncio.

Only this thread ever touches the model, so the event loop never blocks on it; progress goes
back to the loop with ``call_soon_threadsafe``. Post-processing (MP3 finishing) is deliberately
*not* done here: the caller runs it elsewhere so the GPU can start the next batch at once.

Faults are contained here: an out-of-memory batch is retried one request at a time, and a
watchdog abandons a generation that stops making progress and rebuilds the executor (a new
thread with a freshly loaded engine), so one stuck job never stalls the queue.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from generation.errors import Cancelled, GenerationError, OutOfMemory, StuckGeneration
from generation.request import GenerationRequest

if TYPE_CHECKING:
    from generation.backends.base import Backend

log = logging.getLogger(__name__)

EngineFactory = Callable[[], "Backend"]
T = TypeVar("T")
#: Work for the GPU thread: gets the engine and a progress callback (which may raise Cancelled).
EngineWork = Callable[["Backend", Callable[[int, int], None]], T]
#: How often the watchdog looks at the running generation.
WATCHDOG_TICK_S = 0.25


@dataclass(frozen=True)
class BatchResult:
    """Waveforms of one job, grouped by request, and how long the GPU work took."""

    waveforms: list[np.ndarray]
    sample_rate: int
    seconds: float
    split: bool = False
    """True when the batch ran out of memory and was redone one request at a time."""
    channels: int = 1
    """1: waveforms shaped ``(samples,)``; 2: ``(samples, 2)`` (see generation.backends.base)."""


class GpuExecutor:
    """Runs engine calls one at a time on a single worker thread."""

    def __init__(self, factory: EngineFactory, *, stall_timeout_s: float | None = None) -> None:
        self._factory = factory
        self._stall_timeout_s = stall_timeout_s
        self._pool = self._new_pool()
        self._engine: Backend | None = None
        self._abandon_on_close = False
        self._loading = asyncio.Lock()
        self.rebuilds = 0

    @staticmethod
    def _new_pool() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu")

    @property
    def engine(self) -> Backend:
        if self._engine is None:
            raise GenerationError("the model is not loaded (not started, or its last rebuild failed)")
        return self._engine

    @property
    def loaded_engine(self) -> Backend | None:
        """The engine, or None while none is loaded."""
        return self._engine

    @property
    def sample_rate(self) -> int:
        return self.engine.sample_rate

    @property
    def model_name(self) -> str:
        return self.engine.model_name

    @property
    def channels(self) -> int:
        return self.engine.channels

    async def start(self) -> Backend:
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
    ) -> BatchResult:
        """Generate ``requests`` as one batch, falling back to one at a time on out-of-memory.

        ``on_progress(step, total)`` is called on the event loop thread. ``should_stop`` is
        polled on the worker thread between steps; when it returns True the call ends with
        :class:`Cancelled`. Raises :class:`OutOfMemory` if even a single request does not fit,
        and :class:`StuckGeneration` when the watchdog gave up on the call.
        """
        started = time.perf_counter()
        batch = list(requests)
        try:
            waveforms = await self.run(
                lambda engine, progress: engine.generate(batch, progress=progress),
                on_progress=on_progress,
                should_stop=should_stop,
            )
            split = False
        except OutOfMemory:
            if len(batch) == 1:
                raise
            log.warning("out of memory on a batch of %d; retrying one at a time", len(batch))
            waveforms = []
            for request in batch:
                waveforms.extend(
                    await self.run(
                        lambda engine, progress, one=request: engine.generate([one], progress=progress),
                        on_progress=on_progress,
                        should_stop=should_stop,
                    )
                )
            split = True
        return BatchResult(
            waveforms, self.engine.sample_rate, time.perf_counter() - started, split, self.engine.channels
        )

    async def run(
        self,
        work: EngineWork[T],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> T:
        """Run ``work(engine, progress)`` on the GPU thread, under the watchdog.

        For work other than one batch (best-of-N ranking, layered scenes); ``progress`` must be
        called after each denoising step, as :meth:`Backend.generate` does.
        """
        engine = self._engine or await self._reload()
        loop = asyncio.get_running_loop()
        abandoned = threading.Event()
        last_step = time.monotonic()

        def progress(step: int, total: int) -> None:
            nonlocal last_step
            last_step = time.monotonic()
            if abandoned.is_set() or self._abandon_on_close or (should_stop is not None and should_stop()):
                raise Cancelled()
            if on_progress is not None:
                loop.call_soon_threadsafe(on_progress, step, total)

        # Keep the caller's context (e.g. the job id its log lines carry) on the worker thread.
        context = contextvars.copy_context()
        future = loop.run_in_executor(self._pool, context.run, lambda: work(engine, progress))
        if self._stall_timeout_s is None:
            return await future
        while True:
            done, _ = await asyncio.wait({future}, timeout=WATCHDOG_TICK_S)
            if done:
                return future.result()
            if time.monotonic() - last_step > self._stall_timeout_s:
                abandoned.set()  # if the step ever returns, the old thread stops at the next one
                future.add_done_callback(_discard_result)
                try:
                    await self._rebuild()
                except Exception as exc:
                    raise StuckGeneration(
                        f"no progress for {self._stall_timeout_s:g} s, and the model could not be "
                        f"reloaded: {type(exc).__name__}: {exc}"
                    ) from exc
                raise StuckGeneration(
                    f"no progress for {self._stall_timeout_s:g} s; the executor was rebuilt"
                )

    async def _rebuild(self) -> None:
        """Replace the (stuck) worker thread and load a fresh engine on a new one."""
        self.rebuilds += 1
        log.error("rebuilding the GPU executor (rebuild #%d)", self.rebuilds)
        old = self._pool
        self._pool = self._new_pool()
        old.shutdown(wait=False, cancel_futures=True)
        self._engine = None
        await self.start()

    async def _reload(self) -> Backend:
        """Load the engine again after a failed rebuild (one attempt per call, one at a time)."""
        async with self._loading:
            if self._engine is None:
                log.warning("the model is not loaded (a rebuild failed); loading it again")
                try:
                    await self.start()
                except Exception as exc:
                    raise GenerationError(
                        f"the model could not be loaded: {type(exc).__name__}: {exc}"
                    ) from exc
            assert self._engine is not None
            return self._engine

    async def close(self, grace_s: float | None = None) -> None:
        """Stop the thread, waiting up to ``grace_s`` (None: for ever) for the running call.

        A call still running after the grace is abandoned: it stops at its next step, and the
        thread is left to the process's exit.
        """
        self._abandon_on_close = True
        waiting = asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        try:
            await asyncio.wait_for(waiting, grace_s)
        except TimeoutError:
            log.warning("the GPU thread did not stop within %.0f s; leaving it to the exit", grace_s)


def _discard_result(future: asyncio.Future[object]) -> None:
    # The abandoned call may finish or fail later; its outcome is no longer anyone's business.
    if not future.cancelled():
        future.exception()
