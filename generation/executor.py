"""The GPU executor: one dedicated thread that owns the engines, driven from asyncio.

Only this thread ever touches a model, so the event loop never blocks on it; progress goes
back to the loop with ``call_soon_threadsafe``. It may own several models (engines), loaded
together and run one at a time: each call runs on the engine of the model its requests name
(:attr:`GenerationRequest.model`), the first one for requests that name none;
:meth:`GpuExecutor.model` gives a view of one model with the same interface. Post-processing
(MP3 finishing) is deliberately *not* done here: the caller runs it elsewhere so the GPU can
start the next batch at once.

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

from generation.errors import Cancelled, GenerationError, OutOfMemory, RequestError, StuckGeneration
from generation.request import GenerationRequest

if TYPE_CHECKING:
    from generation.backends.base import Backend

log = logging.getLogger(__name__)

#: Loads the model (or the models, the default first) on the GPU thread.
EngineFactory = Callable[[], "Backend | Sequence[Backend]"]
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
        self._engines: dict[str, Backend] = {}
        """By model name, the default first; empty while none is loaded."""
        self._abandon_on_close = False
        self._loading = asyncio.Lock()
        self.rebuilds = 0
        self.active_model: str | None = None
        """The model whose engine is working on the GPU thread right now (None: none is)."""

    @staticmethod
    def _new_pool() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu")

    @property
    def engine(self) -> Backend:
        """The default model's engine."""
        if not self._engines:
            raise GenerationError("the model is not loaded (not started, or its last rebuild failed)")
        return next(iter(self._engines.values()))

    @property
    def loaded_engine(self) -> Backend | None:
        """The default model's engine, or None while none is loaded."""
        return next(iter(self._engines.values()), None)

    @property
    def engines(self) -> tuple[Backend, ...]:
        """Every loaded engine, the default first."""
        return tuple(self._engines.values())

    @property
    def models(self) -> tuple[str, ...]:
        """The names of the loaded models, the default first."""
        return tuple(self._engines)

    def engine_for(self, model: str | None) -> Backend:
        """The engine of ``model`` (None: the default); refuses a model that is not loaded here."""
        if model is None:
            return self.engine
        engine = self._engines.get(model)
        if engine is None:
            loaded = ", ".join(self._engines) or "none"
            raise RequestError(f"The model '{model}' isn't loaded here (any more). Loaded: {loaded}.")
        return engine

    def model(self, name: str | None) -> ModelGpu:
        """This executor seen as one model: ``name``'s (None: the default)."""
        return ModelGpu(self, name)

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
        """Load the model(s) on the worker thread (they then live there); returns the default."""
        if not self._engines:
            loop = asyncio.get_running_loop()
            loaded = await loop.run_in_executor(self._pool, self._factory)
            engines = list(loaded) if isinstance(loaded, Sequence) else [loaded]
            self._engines = {engine.model_name: engine for engine in engines}
        return self.engine

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        model: str | None = None,
    ) -> BatchResult:
        """Generate ``requests`` as one batch, falling back to one at a time on out-of-memory.

        The batch runs on ``model``'s engine, by default the one its requests name.
        ``on_progress(step, total)`` is called on the event loop thread. ``should_stop`` is
        polled on the worker thread between steps; when it returns True the call ends with
        :class:`Cancelled`. Raises :class:`OutOfMemory` if even a single request does not fit,
        and :class:`StuckGeneration` when the watchdog gave up on the call.
        """
        started = time.perf_counter()
        batch = list(requests)
        if model is None and batch:
            model = batch[0].model
        if not self._engines:
            await self._reload()
        engine = self.engine_for(model)
        try:
            waveforms = await self.run(
                lambda engine, progress: engine.generate(batch, progress=progress),
                on_progress=on_progress,
                should_stop=should_stop,
                model=model,
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
                        model=model,
                    )
                )
            split = True
        return BatchResult(
            waveforms, engine.sample_rate, time.perf_counter() - started, split, engine.channels
        )

    async def run(
        self,
        work: EngineWork[T],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        model: str | None = None,
    ) -> T:
        """Run ``work(engine, progress)`` on the GPU thread, under the watchdog, with ``model``'s
        engine (None: the default).

        For work other than one batch (best-of-N ranking, layered scenes); ``progress`` must be
        called after each denoising step, as :meth:`Backend.generate` does.
        """
        if not self._engines:
            await self._reload()
        engine = self.engine_for(model)
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

        def on_thread() -> T:
            # Set on the GPU thread itself, so it names the engine at work even while other
            # calls wait for the thread.
            self.active_model = engine.model_name
            try:
                return work(engine, progress)
            finally:
                self.active_model = None

        # Keep the caller's context (e.g. the job id its log lines carry) on the worker thread.
        context = contextvars.copy_context()
        future = loop.run_in_executor(self._pool, context.run, on_thread)
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
        self._engines = {}
        self.active_model = None  # the abandoned thread's engine is no longer ours
        await self.start()

    async def _reload(self) -> Backend:
        """Load the engines again after a failed rebuild (one attempt per call, one at a time)."""
        async with self._loading:
            if not self._engines:
                log.warning("the model is not loaded (a rebuild failed); loading it again")
                try:
                    await self.start()
                except Exception as exc:
                    raise GenerationError(
                        f"the model could not be loaded: {type(exc).__name__}: {exc}"
                    ) from exc
            return self.engine

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


class ModelGpu:
    """One model of a :class:`GpuExecutor` (the render path's :class:`~generation.recipes.order.Gpu`):
    the same thread, watchdog and cancellation, with that model's engine."""

    def __init__(self, executor: GpuExecutor, name: str | None) -> None:
        self._executor = executor
        self._name = name

    @property
    def _engine(self) -> Backend:
        return self._executor.engine_for(self._name)

    @property
    def sample_rate(self) -> int:
        return self._engine.sample_rate

    @property
    def model_name(self) -> str:
        return self._engine.model_name

    @property
    def channels(self) -> int:
        return self._engine.channels

    @property
    def models(self) -> tuple[str, ...]:
        return self._executor.models

    def model(self, name: str | None) -> ModelGpu:
        return self._executor.model(name)

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> BatchResult:
        return await self._executor.generate(
            requests, on_progress=on_progress, should_stop=should_stop, model=self._name
        )

    async def run(
        self,
        work: EngineWork[T],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> T:
        return await self._executor.run(
            work, on_progress=on_progress, should_stop=should_stop, model=self._name
        )


def _discard_result(future: asyncio.Future[object]) -> None:
    # The abandoned call may finish or fail later; its outcome is no longer anyone's business.
    if not future.cancelled():
        future.exception()
