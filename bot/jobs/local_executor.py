"""The executor that runs the models in this process: the GPU thread plus the shared render path.

The GPU part of a batch runs on :class:`~generation.executor.GpuExecutor`'s thread (watchdog,
out-of-memory split); :meth:`LocalExecutor.submit` returns as soon as it is over, and each job's
CPU part (looping, finishing, MP3) goes on in worker threads while the next batch already runs.
Every model of ``[model]`` is loaded on that one thread and they run one at a time; a batch
runs on the model its requests name (the scheduler only batches jobs of one model).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.jobs.executor import ExecutorInfo, ModelInfo, ProgressListener, Route, Work
from generation.audio.finishing import FinishSettings
from generation.errors import Cancelled, GenerationError, RequestError
from generation.executor import GpuExecutor
from generation.recipes.clips import finish_plain, generate_plain
from generation.recipes.order import Offload, Progress, RenderContext, Rendered
from generation.recipes.render import render
from generation.request import GenerationRequest
from generation.settings import model_display_name

if TYPE_CHECKING:
    from bot.config import Config
    from generation.backends.base import Backend

log = logging.getLogger(__name__)

#: How long closing waits for the GPU thread to reach its next step and stop.
CLOSE_GRACE_S = 5.0


def _resolved(result: Rendered | BaseException) -> asyncio.Future[Rendered]:
    future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
    return future


class LocalExecutor:
    """A GPU thread in this process (see the module docstring)."""

    kind = "local"
    detached = False
    """The GPU thread is the bot's own: its work dies with the process."""

    def __init__(
        self,
        gpu: GpuExecutor,
        finish_settings: FinishSettings,
        *,
        max_batch: int = 0,
        offload: Offload = asyncio.to_thread,
    ) -> None:
        self.gpu = gpu
        self.finish_settings = finish_settings
        self.offload = offload
        """Where each job's CPU part runs (the bot passes its audio worker process)."""
        self.max_batch = max_batch
        """Most clips per pipeline call; 0: sized from free GPU memory."""
        self._running: set[int] = set()
        self._stop: set[int] = set()
        self._busy = False

    async def start(self) -> None:
        await self.gpu.start()

    def surviving(self) -> frozenset[tuple[int, str]]:
        return frozenset()  # nothing outlives the process

    async def ready(self) -> None:
        """Always ready: :meth:`submit` itself holds the scheduler while the GPU is busy."""

    async def close(self) -> None:
        # The scheduler has already given a running batch its grace; what is left is abandoned.
        await self.gpu.close(grace_s=CLOSE_GRACE_S)

    @property
    def sample_rate(self) -> int:
        return self.gpu.sample_rate

    @property
    def model_name(self) -> str:
        return self.gpu.model_name

    def batch_limit(self, request: GenerationRequest) -> int:
        if self.max_batch:
            return self.max_batch
        if self.gpu.loaded_engine is None:
            return 1
        try:
            engine = self.gpu.engine_for(request.model)
        except RequestError:
            return 1  # a model no longer loaded: the job fails alone when it runs
        return engine.max_batch(request.duration_s)

    def available(self) -> bool:
        return self.gpu.loaded_engine is not None

    def route(self, models: Sequence[str | None]) -> Route:
        # Every model is loaded here; one that is not fails alone when its job runs.
        default = self.gpu.models[0] if self.gpu.models else ""
        return Route(tuple(model or default for model in models), served=True, room=True)

    async def room_changed(self) -> None:
        await asyncio.get_running_loop().create_future()  # every route always has room here

    @property
    def lanes(self) -> int:
        return 1

    def cancel(self, job_id: int) -> bool:
        if job_id not in self._running:
            return False
        self._stop.add(job_id)
        return True

    def info(self) -> ExecutorInfo:
        engines = self.gpu.engines
        if not engines:
            return ExecutorInfo(
                self.kind, (), "-", "no model loaded (the last rebuild failed)", self.gpu.rebuilds
            )
        placed = [f"{e.device} ({str(e.dtype).removeprefix('torch.')})" for e in engines]
        hits, misses = sum(e.prompts.hits for e in engines), sum(e.prompts.misses for e in engines)
        active = self.gpu.active_model
        loaded = tuple(
            ModelInfo(
                name=model_display_name(engine.model_name),
                family=engine.family,
                sample_rate=engine.sample_rate,
                channels=engine.channels,
                device=device,
                generating=engine.model_name == active,
            )
            for engine, device in zip(engines, placed, strict=True)
        )
        return ExecutorInfo(
            kind=self.kind,
            models=tuple(engine.model_name for engine in engines),
            device=", ".join(dict.fromkeys(placed)),
            state="generating" if self._busy else "ready",
            rebuilds=self.gpu.rebuilds,
            details={"Prompt cache": f"{hits} hits · {misses} encodes"},
            loaded=loaded,
        )

    def _context(self, job_ids: Sequence[int], progress: ProgressListener) -> RenderContext:
        def report(update: Progress) -> None:
            for job_id in job_ids:
                if job_id not in self._stop:
                    progress(job_id, update)

        # A batch stops early only when every job in it was cancelled; a job cancelled alone is
        # dropped at the end, so the others are not made to start over.
        def should_stop() -> bool:
            return all(job_id in self._stop for job_id in job_ids)

        return RenderContext(
            self.gpu, self.finish_settings, progress=report, should_stop=should_stop, offload=self.offload
        )

    async def submit(
        self, batch: Sequence[Work], progress: ProgressListener
    ) -> list[asyncio.Future[Rendered]]:
        ids = [work.job_id for work in batch]
        self._running.update(ids)
        self._busy = True
        try:
            if len(batch) > 1 or batch[0].render.recipe.batchable:
                return await self._plain(batch, progress)
            return [await self._special(batch[0], progress)]
        finally:
            self._busy = False
            self._running.difference_update(ids)

    async def _special(self, work: Work, progress: ProgressListener) -> asyncio.Future[Rendered]:
        """A job that has the GPU alone: its whole render, GPU and CPU parts."""
        try:
            rendered = await render(self._context([work.job_id], progress), work.render)
        except Exception as exc:
            return _resolved(exc)
        finally:
            self._stop.discard(work.job_id)
        return _resolved(rendered)

    async def _plain(
        self, batch: Sequence[Work], progress: ProgressListener
    ) -> list[asyncio.Future[Rendered]]:
        """Plain clips of every job in one pipeline call; each job then finishes on its own."""
        ids = [work.job_id for work in batch]
        if any(not work.render.recipe.batchable for work in batch):
            error = GenerationError("only plain clips can share a pipeline call")
            return [_resolved(error) for _ in batch]
        try:
            waveforms, seconds = await generate_plain(self._context(ids, progress), [w.render for w in batch])
        except Exception as exc:
            for job_id in ids:
                self._stop.discard(job_id)
            return [_resolved(exc) for _ in batch]
        futures: list[asyncio.Future[Rendered]] = []
        for work, waves in zip(batch, waveforms, strict=True):
            if work.job_id in self._stop:
                self._stop.discard(work.job_id)
                futures.append(_resolved(Cancelled()))  # its audio is not wanted
                continue
            ctx = self._context([work.job_id], progress)
            futures.append(asyncio.ensure_future(finish_plain(ctx, work.render, waves, seconds)))
        return futures


def build_local_executor(config: Config, *, offload: Offload = asyncio.to_thread) -> LocalExecutor:
    """The models of ``[model]`` on a GPU thread, warmed up when started (``ambientgen run`` and
    ``ambientgen worker`` load them the same way); each job's CPU part runs through ``offload``."""
    from generation.backends.registry import load_backend
    from generation.prompting import warm_up_request

    def load_warm() -> list[Backend]:
        # Warm up on the GPU thread, before any user's job: CUDA's lazy start, the torch.compile
        # of the denoiser (when enabled) and the memory measurement that sizes automatic batches.
        # Every model is loaded before any is warmed: a model that can't load fails the start fast.
        engines = [load_backend(settings) for settings in config.model.all_engine_settings()]
        for engine in engines:
            seconds = engine.warm_up(warm_up_request(), (1, 2) if engine.compiled else (1,))
            log.info("warm-up of %s done in %.1fs (batch size now %d)", engine.model_name, seconds,
                     engine.max_batch(10.0))  # fmt: skip
        return engines

    gpu = GpuExecutor(load_warm, stall_timeout_s=config.queue.job_timeout_s)
    return LocalExecutor(
        gpu, config.audio.finish_settings(), max_batch=config.queue.max_batch, offload=offload
    )
