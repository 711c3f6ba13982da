"""The studio's engine: the bot's executor (a GPU thread here, or GPU workers through Redis) and
the one render path, one render at a time.

Every tab turns its widgets into a :class:`~generation.recipes.order.RenderJob` and awaits
:meth:`StudioEngine.render`, which hands it to the same :class:`~bot.jobs.executor.Executor` the
bot uses, so a recipe and a seed give the same samples as ``ambientgen generate``, the bot and the
workers. **Stop** cancels the render of the session that asked for it between two steps.

The executor lives on an event loop of its own thread (started by :meth:`open`): Gradio runs
handlers on its server's loop, and the executor's futures and locks must stay on one loop.
Progress comes back to the caller's loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from bot.jobs.executor import Executor, Work
from generation.recipes.order import Progress, ProgressSink, Rendered, RenderJob

if TYPE_CHECKING:
    from bot.config import Config
    from generation.models import ModelCatalog

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The studio's job ids start here, far above any bot's SQLite job id, so that with a shared Redis
#: a studio batch's key never equals a bot's (its keys are its job ids).
JOB_ID_BASE = 10**15
#: How long closing waits for the executor.
CLOSE_TIMEOUT_S = 30.0


class StudioEngine:
    """One render at a time through ``executor`` (see the module docstring)."""

    def __init__(self, executor: Executor, catalog: ModelCatalog) -> None:
        self.executor = executor
        self.catalog = catalog
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="studio-engine", daemon=True)
        self._lock: asyncio.Lock | None = None
        # Unique across restarts too: a previous run's batch may still be in Redis under its key.
        self._ids = itertools.count(JOB_ID_BASE + time.time_ns() // 1000 % JOB_ID_BASE)
        self._running: dict[str, int] = {}

    @property
    def models(self) -> tuple[str, ...]:
        """The models on offer, the default first."""
        return self.catalog.names

    @property
    def local(self) -> bool:
        """Whether the models run in this process (CLAP scores can then be computed here)."""
        return getattr(self.executor, "kind", "") == "local"

    # -- lifecycle (blocking; called from the launching thread) -------------------------------------

    def open(self) -> None:
        """Start the engine's loop and the executor (loads the models); raises what it raises."""
        self._thread.start()
        self._call(self._start(), timeout=None)

    async def _start(self) -> None:
        self._lock = asyncio.Lock()
        await self.executor.start()

    def shutdown(self) -> None:
        """Close the executor and stop the loop."""
        if not self._thread.is_alive():
            return
        try:
            self._call(self.executor.close(), timeout=CLOSE_TIMEOUT_S)
        except Exception:
            log.exception("studio: closing the executor failed")
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CLOSE_TIMEOUT_S)
            if not self._thread.is_alive():
                self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- rendering (awaited from any loop) ----------------------------------------------------------

    async def render(
        self, job: RenderJob, *, owner: str = "", progress: ProgressSink | None = None
    ) -> Rendered:
        """``job`` through the one render path; raises ``Cancelled`` when ``owner`` pressed Stop,
        and ``RequestError``/``GenerationError`` as the bot's jobs do."""
        caller = asyncio.get_running_loop()

        def report(_job_id: int, update: Progress) -> None:
            if progress is not None:
                caller.call_soon_threadsafe(progress, update)

        return await self._bridge(self._render(job, owner, report))

    async def _bridge(self, coro: Coroutine[Any, Any, T]) -> T:
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        # Cancelling the caller (the page went away) cancels the render on the engine's loop.
        return await asyncio.wrap_future(future)

    async def _render(self, job: RenderJob, owner: str, report: Any) -> Rendered:
        assert self._lock is not None, "open() the engine first"
        async with self._lock:
            job_id = next(self._ids)
            self._running[owner] = job_id
            try:
                await self.executor.ready()
                (future,) = await self.executor.submit(
                    [Work(job_id, job, nonce=secrets.token_hex(8))], report
                )
                return await future
            except asyncio.CancelledError:
                self.executor.cancel(job_id)  # the GPU stops between two steps too
                raise
            finally:
                self._running.pop(owner, None)

    def stop(self, owner: str = "") -> bool:
        """Stop ``owner``'s running render between two steps; False when none runs."""
        job_id = self._running.get(owner)
        if job_id is None:
            return False
        log.info("studio: stop asked for job %d", job_id)
        self._loop.call_soon_threadsafe(self.executor.cancel, job_id)
        return True

    async def clap_scores(
        self, text: str, waveforms: Sequence[object], model: str | None = None
    ) -> list[float] | None:
        """CLAP similarity of each waveform to ``text`` with ``model``'s ranking CLAP (the tiny
        models have a tiny one); None where the models run on GPU workers."""
        if not self.local or getattr(self.executor, "gpu", None) is None:
            return None
        return await self._bridge(self._clap(text, list(waveforms), model))

    async def _clap(self, text: str, waveforms: list[Any], model: str | None) -> list[float]:
        assert self._lock is not None
        gpu = self.executor.gpu  # type: ignore[attr-defined]
        async with self._lock:
            return await gpu.run(lambda engine, _step: engine.clap_scores(text, waveforms), model=model)


def engine_from_config(config: Config) -> StudioEngine:
    """The engine for ``config``: its ``[model]`` models here, or with ``[executor] kind = "redis"``
    the GPU workers (no model and no torch in this process)."""
    catalog = config.model.catalog()
    if config.executor.remote:
        from bot.studio.remote import StudioRemoteExecutor

        # An identity of its own: the studio's batches are never the bot's, nor an earlier studio's.
        return StudioEngine(StudioRemoteExecutor.from_config(config, secrets.token_hex(8)), catalog)
    from bot.jobs.local_executor import build_local_executor

    return StudioEngine(build_local_executor(config, warm=False), catalog)
