"""The scheduler: takes the fairest batch from the queue, hands it to the executor, and each job's
result to delivery.

It takes the fairest waiting job whose GPU can take it now (with GPU workers that serve different
models, a job whose model's worker is busy or absent keeps its place while other models' jobs go
by). It is a supervised loop (see :mod:`bot.tasks`): a failure while taking or dispatching a batch
ends exactly the jobs of that batch (each with a message to its user), is logged, and the loop goes
on; should the loop itself ever end, it is logged at ERROR and restarted. Jobs that need no GPU
(a stored best-of-N candidate, a level change) never wait in the queue: :meth:`serve_now` runs
them at once, beside whatever the GPU is doing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Sequence

from bot.jobs.batching import clips, compatible, models_of
from bot.jobs.delivery import DEFAULT_UPLOAD_LIMIT, Delivery
from bot.jobs.executor import Executor, Work
from bot.jobs.gpu_free import GpuFreeJobs
from bot.jobs.messenger import Messenger
from bot.jobs.queue import JobQueue
from bot.logs import job_context
from bot.metrics import metrics
from bot.storage import CandidateStore, Job, JobStateError, JobStore, Mp3Files, StemFiles
from bot.tasks import Supervised, spawn
from bot.ui.job_texts import UNEXPECTED_FAILURE, progress_text, starting_text
from generation.audio.finishing import FinishSettings
from generation.recipes.order import Offload, Progress, Rendered, RenderJob

log = logging.getLogger(__name__)


def _ids(jobs: Sequence[Job]) -> str:
    return ",".join(str(job.id) for job in jobs)


class Scheduler:
    """The loop between the queue and the executor (see the module docstring)."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        jobs: JobStore,
        executor: Executor,
        delivery: Delivery,
        messenger: Messenger,
        candidates: CandidateStore,
        stems: StemFiles,
        files: Mp3Files,
        finish_settings: FinishSettings,
        batch_window_ms: int = 0,
        offload: Offload = asyncio.to_thread,
    ) -> None:
        self.queue = queue
        self.jobs = jobs
        self.executor = executor
        self.delivery = delivery
        self.messenger = messenger
        self.stems = stems
        self.batch_window_s = batch_window_ms / 1000
        self.loop = Supervised("the scheduler", self._run)
        self.idle_gaps_ms: collections.deque[float] = collections.deque(maxlen=1000)
        """Recent gaps between GPU batches while jobs were waiting (measured, for /status)."""
        self._running: dict[int, Job] = {}
        """Jobs handed to the executor whose results are not in yet (several batches at once with
        remote workers; with the local executor, one on the GPU and the one being finished)."""
        self._in_flight: set[int] = set()
        self._deliveries: dict[int, asyncio.Task[object]] = {}
        """Each job's delivery while its result is awaited."""
        self._dispatching = False
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._idle_since: float | None = None
        self._work_waiting = False
        self._stopping = False
        self.gpu_free = GpuFreeJobs(
            queue=queue,
            jobs=jobs,
            delivery=delivery,
            candidates=candidates,
            stems=stems,
            files=files,
            finish_settings=finish_settings,
            offload=offload,
            tasks=self._tasks,
        )

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self.loop.start()

    async def stop(self, grace_s: float) -> None:
        """Take no more batches; give the running one ``grace_s`` to finish, then let deliveries end.

        Queued jobs stay in the database for the next start; a batch still running after the
        grace is left ``running`` there and is re-queued then. A detached executor's running
        work (on GPU workers) gets no grace: it goes on there, its jobs stay ``running`` here,
        and the next start adopts it and collects its result; only the batch being handed over
        and deliveries whose result is in are waited for.
        """
        self._stopping = True
        self.loop.finishing()
        self._settle_idle()  # a detached executor's work in flight no longer counts
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            log.warning("shutdown: the running job did not finish in %.0f s; it will be redone", grace_s)
        await self.loop.stop()
        if self.executor.detached:
            self._leave_to_the_workers()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=max(1.0, grace_s / 3))
            for task in pending:
                task.cancel()

    def _leave_to_the_workers(self) -> None:
        """Stop waiting for results still being made on GPU workers (see :meth:`stop`)."""
        waiting = [self._deliveries[job_id] for job_id in self._in_flight if job_id in self._deliveries]
        if waiting:
            log.info(
                "shutdown: %d job(s) still running on GPU workers; the next start collects them",
                len(waiting),
            )
        for task in waiting:
            task.cancel()

    @property
    def running(self) -> list[Job]:
        return list(self._running.values())

    def request_stop(self, job_id: int) -> bool:
        """Ask a running job to stop between steps; False if it is not running."""
        return job_id in self._running and self.executor.cancel(job_id)

    # -- the loop ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            # A job leaves the fair queue only when a GPU can start it (a remote executor: a worker
            # has room), so "waiting for a GPU worker" jobs keep their places and their status.
            # Room is asked for once work is there, so it is still true when the batch is taken.
            await self.queue.wait_for_work()
            await self.executor.ready()
            seen = self.queue.version
            # Watch the executor from before the take, so a change during it is not missed.
            room_changed = asyncio.ensure_future(self.executor.room_changed())
            try:
                batch = await self._take()
                if not batch:  # no waiting job's GPU has room: wait for a new job or for room
                    queue_changed = asyncio.ensure_future(self.queue.wait_changed(seen))
                    try:
                        await asyncio.wait({room_changed, queue_changed}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        queue_changed.cancel()
                    continue
            finally:
                room_changed.cancel()
            self._dispatching = True
            self._idle.clear()
            try:
                with job_context(batch[0].id):
                    await self._dispatch(batch)
            except Exception:  # a bug in one batch ends that batch's jobs, never the loop
                log.exception("jobs %s: unexpected failure", _ids(batch))
                for job in batch:
                    await self.delivery.fail(job, UNEXPECTED_FAILURE)
            finally:
                self._dispatching = False
                for job in batch:
                    if job.id not in self._in_flight:
                        self._running.pop(job.id, None)
                self._show_running()
                self._idle_since = time.perf_counter()
                self._work_waiting = len(self.queue) > 0
                self._settle_idle()

    def _show_running(self) -> None:
        self.queue.set_running(list(self._running.values()))

    def _settle_idle(self) -> None:
        """Idle: no batch being dispatched and no job waiting for its executor's result (when
        stopping, a detached executor's results are not waited for: see :meth:`stop`)."""
        leaving = self._stopping and self.executor.detached
        if not self._dispatching and (not self._running or leaving):
            self._idle.set()

    def _finished(self, job_id: int) -> None:
        """A job's result (or error) is in: it no longer runs, whatever delivery does next."""
        self._in_flight.discard(job_id)
        self._deliveries.pop(job_id, None)
        self._running.pop(job_id, None)
        self._show_running()
        self._settle_idle()

    async def _take(self) -> list[Job]:
        rooms: dict[tuple[str | None, ...], bool] = {}

        def eligible(job: Job) -> bool:
            models = tuple(models_of(job))
            if models not in rooms:
                rooms[models] = self.executor.route(models).room
            return rooms[models]

        batch = await self.queue.take(
            lambda first: self.executor.batch_limit(first.request), compatible, clips, eligible
        )
        if not batch:
            return batch
        if self.batch_window_s > 0 and batch[0].recipe.batchable:
            # Let compatible jobs that arrive within the window ride along (0 = never wait).
            try:
                room = self.executor.batch_limit(batch[0].request) - sum(map(clips, batch))
                if room > 0:
                    await asyncio.sleep(self.batch_window_s)
                    batch += await self.queue.take_more(batch[0], room, compatible, clips)
            except Exception:
                log.exception("jobs %s: waiting for more jobs to batch with failed", _ids(batch))
        return batch

    async def _dispatch(self, batch: list[Job]) -> None:
        ready: list[Job] = []
        for job in batch:
            if not job.recipe.needs_gpu:
                await self.serve_now(job)  # queued before a restart: needs no GPU after all
            elif job.unreadable:
                await self.delivery.fail(job, "Your request could not be read back, so it was not generated.")
            else:
                ready.append(job)
        if not ready:
            return
        works = [await self._work(job) for job in ready]
        pairs = [(job, work) for job, work in zip(ready, works, strict=True) if work is not None]
        if not pairs:
            return
        await self._run_on_gpu([job for job, _ in pairs], [work for _, work in pairs])

    async def _work(self, job: Job) -> Work | None:
        """What the executor needs for ``job``: for a layer reroll, the stored stems too."""
        source = None
        if job.recipe.reroll_layer is not None:
            parent = await self.jobs.get(job.recipe.source_job_id) if job.recipe.source_job_id else None
            source = await self.stems.load(parent) if parent is not None else None
            if source is None:
                await self.delivery.fail(
                    job, "The layers of that scene are no longer stored, so it can't be changed."
                )
                return None
        render = RenderJob(job.request, job.recipe, job.variations, self._upload_limit(job), source)
        return Work(job.id, render, job.nonce)

    def _upload_limit(self, job: Job) -> int:
        guild = self.messenger.guild(job)
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    async def _run_on_gpu(self, batch: list[Job], works: list[Work]) -> None:
        self._running.update({job.id: job for job in batch})
        self._show_running()
        self._gpu_starts()
        # The GPU starts first: the queue's copies of the jobs hold everything it needs, and the
        # database learns that they run while it works (a crash before that re-queues them,
        # which is what would happen anyway). This keeps the GPU's idle gap free of disk I/O.
        submitted = asyncio.ensure_future(self.executor.submit(works, self._progress))
        started: dict[int, Job] = {}
        try:
            for job in batch:
                try:
                    started[job.id] = await self.jobs.mark_running(job.id)
                except JobStateError:
                    log.info("job %d: no longer queued (cancelled?), skipped", job.id)
                    self.executor.cancel(job.id)
                    self._running.pop(job.id, None)
            self._running.update(started)
            self._show_running()
            for job in started.values():
                self.messenger.update_status(job, starting_text())
            first = batch[0].request
            log.info("jobs %s: generating %d clip(s) of %gs, %d steps", _ids(batch),
                     sum(map(clips, batch)), first.duration_s, first.steps)  # fmt: skip
        finally:
            results = await submitted
        observed = False
        for job, result in zip(batch, results, strict=True):
            if job.id not in started:
                result.add_done_callback(_discard)
                continue
            self._in_flight.add(job.id)
            result.add_done_callback(lambda _r, job_id=job.id: self._finished(job_id))
            if not observed:  # every job of a batch reports the same GPU time: learn it once
                observed = True
                result.add_done_callback(lambda r, batch=batch: self._observe(r, batch))
            self._deliveries[job.id] = spawn(
                self.delivery.deliver(started[job.id], result),  # type: ignore[arg-type]
                f"deliver-{job.id}",
                self._tasks,
            )

    def _observe(self, result: asyncio.Future[Rendered], batch: list[Job]) -> None:
        """Learn the GPU's speed from a finished batch."""
        if result.cancelled() or result.exception() is not None:
            return
        seconds = result.result().seconds
        if seconds <= 0:
            return
        self.queue.estimator.observe_units(sum(self.queue.sizes.of(job).units for job in batch), seconds)
        metrics().batch_rendered(batch[0].request.model, seconds, sum(map(clips, batch)))
        log.info(
            "batch of %d job(s), %d clip(s) generated in %.3fs", len(batch), sum(map(clips, batch)), seconds
        )

    def _progress(self, job_id: int, progress: Progress) -> None:
        job = self._running.get(job_id)
        if job is not None:
            self.messenger.update_status(job, progress_text(progress))

    def _gpu_starts(self) -> None:
        """Note the gap since the previous GPU work ended, when jobs were waiting for it."""
        if self._idle_since is not None and self._work_waiting:
            gap_ms = (time.perf_counter() - self._idle_since) * 1000
            self.idle_gaps_ms.append(gap_ms)
            log.info("executor idle gap %.1f ms with work waiting", gap_ms)
        self._idle_since = None

    # -- jobs without GPU work ----------------------------------------------------------------------

    async def serve_now(self, job: Job) -> None:
        """Start a job that needs no GPU at once, beside whatever the GPU is doing."""
        await self.gpu_free.serve(job)


def _discard(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
