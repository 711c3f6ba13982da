"""The worker: takes jobs from the fair queue, feeds the GPU executor, delivers results.

The GPU part is strictly sequential (one executor). Everything after it — MP3 finishing,
storage, uploads — runs as a separate task so the GPU starts the next job at once.

Delivery is exactly-once: the MP3s and their rows are saved first, then the intent to post is
recorded (``posting``), then the message is posted and confirmed (``done``). After a crash, a
``posting`` job is looked up in the channel by its marker before anything is re-posted.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable

import discord

from bot.jobs.estimate import DurationEstimator, generating_text, queued_text, starting_text
from bot.jobs.messenger import Messenger
from bot.jobs.queue import JobQueue
from bot.logs import job_context
from bot.storage import (
    KIND_AMBIENT,
    KIND_REROLL,
    KIND_TWEAK,
    Generation,
    GenerationStore,
    Job,
    JobStateError,
    JobStore,
    Mp3Files,
)
from bot.ui.embeds import result_embed
from generation.errors import Cancelled, GenerationError, OutOfMemory
from generation.executor import GpuExecutor, StuckGeneration
from generation.finishing import FinishedAudio, FinishSettings, finish
from generation.naming import mp3_filename
from generation.reencode import fit_mp3
from generation.request import MAX_SEED, GenerationRequest
from generation.tags import Mp3Tags

log = logging.getLogger(__name__)

#: Discord's per-file upload limit for bots when the server grants no more.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
#: On shutdown, how long a running generation may take to finish before it is left for the
#: next start (it stays "running" in the database and is re-queued then).
SHUTDOWN_GRACE_S = 30.0
#: How many times an upload refused as too large is re-encoded smaller and retried.
UPLOAD_SHRINK_ATTEMPTS = 3


def job_requests(job: Job) -> list[GenerationRequest]:
    """The job's requests: one per variation, with consecutive seeds."""
    return [job.request.with_seed((job.request.seed + i) % (MAX_SEED + 1)) for i in range(job.variations)]


class Worker:
    """Runs queued jobs one after another on the GPU executor."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        jobs: JobStore,
        generations: GenerationStore,
        files: Mp3Files,
        executor: GpuExecutor,
        messenger: Messenger,
        finish_settings: FinishSettings,
        view_factory: Callable[[Job], discord.ui.View | None],
        estimator: DurationEstimator | None = None,
    ) -> None:
        self.queue = queue
        self.jobs = jobs
        self.generations = generations
        self.files = files
        self.executor = executor
        self.messenger = messenger
        self.finish_settings = finish_settings
        self.view_factory = view_factory
        self.estimator = estimator or DurationEstimator()
        self._stop_requested: set[int] = set()
        self._deliveries: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._idle_since: float | None = None
        self.completed = 0
        self.failed = 0
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        queue.on_change(self.refresh_queue_statuses)

    @property
    def model_name(self) -> str:
        return self.executor.engine.model_name

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Re-queue what a previous run left, then start taking jobs."""
        for job in await self.jobs.requeue_interrupted():
            await self.queue.put(job)
        for job in await self.jobs.interrupted_posting():
            self._spawn(self._recover_posting(job), f"recover-{job.id}")
        self._task = asyncio.create_task(self._loop(), name="worker")

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop taking jobs; give the running one ``grace_s`` to finish, then let deliveries end.

        Queued jobs simply stay in the database for the next start.
        """
        self._stopping = True
        if self._task is not None and self.queue.running:
            try:
                await asyncio.wait_for(asyncio.shield(self._idle.wait()), grace_s)
            except TimeoutError:
                log.warning("shutdown: the running job did not finish in %.0f s; it will be redone", grace_s)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)

    def _spawn(self, coro: object, name: str) -> None:
        task = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    def request_stop(self, job_id: int) -> bool:
        """Ask the running job to stop between steps; False if it is not running."""
        if any(job.id == job_id for job in self.queue.running):
            self._stop_requested.add(job_id)
            return True
        return False

    # -- queue status ---------------------------------------------------------------------

    def eta_for(self, job: Job) -> float:
        """Seconds until ``job`` starts, from the running job's remainder and the jobs ahead."""
        now = time.time()
        remaining = 0.0
        for running in self.queue.running:
            total = self.estimator.estimate(
                running.request.steps, running.request.duration_s, running.variations
            )
            remaining += max(0.0, total - (now - (running.started_at or now)))
        for ahead in self.queue.ordered():
            if ahead.id == job.id:
                break
            remaining += self.estimator.estimate(
                ahead.request.steps, ahead.request.duration_s, ahead.variations
            )
        return remaining

    def waiting(self) -> list[tuple[Job, float]]:
        return [(job, self.eta_for(job)) for job in self.queue.ordered()]

    def refresh_queue_statuses(self) -> None:
        """Re-show every waiting job's place (edits are throttled and skipped when unchanged)."""
        waiting = self.waiting()
        for position, (job, eta) in enumerate(waiting, start=1):
            self.messenger.update_status(job, queued_text(position, len(waiting), eta))

    # -- the GPU loop ---------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            batch = await self.queue.take()
            if self._idle_since is not None:
                log.debug("executor idle gap %.1f ms", (time.perf_counter() - self._idle_since) * 1000)
            self._idle.clear()
            try:
                with job_context(batch[0].id):
                    await self._run(batch[0])
            except Exception:  # a bug in one job must not stop the worker
                log.exception("job %d: unexpected failure", batch[0].id)
                await self._fail(batch[0], "Something went wrong while generating. Please try again.")
            finally:
                self._idle_since = time.perf_counter()
                self.queue.set_running([])
                self._idle.set()

    async def _run(self, job: Job) -> None:
        try:
            job = await self.jobs.mark_running(job.id)
        except JobStateError:
            log.info("job %d: no longer queued (cancelled?), skipped", job.id)
            return
        self.queue.set_running([job])
        self.messenger.update_status(job, starting_text())
        requests = job_requests(job)
        log.info(
            "job %d: generating %d × %gs, %d steps",
            job.id,
            len(requests),
            job.request.duration_s,
            job.request.steps,
        )

        def on_progress(step: int, total: int) -> None:
            self.messenger.update_status(job, generating_text(step, total))

        try:
            result = await self.executor.generate(
                requests, on_progress=on_progress, should_stop=lambda: job.id in self._stop_requested
            )
        except Cancelled:
            self._stop_requested.discard(job.id)
            await self.jobs.mark_cancelled(job.id)
            await self.messenger.final_status(job, "🛑 Cancelled.")
            log.info("job %d: cancelled while running", job.id)
            return
        except StuckGeneration:
            log.error("job %d: generation stalled; the executor was rebuilt", job.id)
            await self._fail(
                job, "The generator got stuck on this request and was restarted. Please try again."
            )
            return
        except OutOfMemory:
            await self._fail(
                job, "The GPU ran out of memory for this request. Try a shorter duration or fewer variations."
            )
            return
        except GenerationError as exc:
            log.error("job %d: generation failed: %s", job.id, exc)
            await self._fail(job, "The model failed on this request. Please try again.")
            return
        self.estimator.observe(job.request.steps, job.request.duration_s, job.variations, result.seconds)
        log.info("job %d: generated in %.2fs", job.id, result.seconds)
        self._spawn(
            self._deliver(job, requests, result.waveforms, result.sample_rate, result.seconds),
            f"deliver-{job.id}",
        )

    async def _fail(self, job: Job, message: str) -> None:
        self.failed += 1
        try:
            job = await self.jobs.mark_failed(job.id, message)
        except JobStateError:
            return
        # Shown on the status message where it can still be edited, else sent to the user.
        if not await self.messenger.final_status(job, f"⚠️ {message}"):
            await self.messenger.notify(job, message)

    # -- delivery (off the GPU path) ------------------------------------------------------

    async def _deliver(
        self, job: Job, requests: list[GenerationRequest], waveforms: list, sample_rate: int, seconds: float
    ) -> None:
        model = self.model_name
        try:
            for index, (request, wave) in enumerate(zip(requests, waveforms, strict=True)):
                done: FinishedAudio = await asyncio.to_thread(
                    finish, wave, sample_rate, self.finish_settings, Mp3Tags.from_request(request, model)
                )
                rel, sha = await self.files.save(done.mp3)
                await self.generations.add(
                    job,
                    index,
                    request,
                    model=model,
                    mp3_path=rel,
                    mp3_sha256=sha,
                    mp3_bytes=len(done.mp3),
                    lufs=done.lufs,
                    gen_seconds=seconds,
                )
            job = await self.jobs.mark_posting(job.id, seconds)
            await self._post(job)
        except Exception as exc:
            log.exception("job %d: delivery failed", job.id)
            await self._fail(job, f"Your soundscape was generated but could not be posted ({_reason(exc)}).")

    async def _post(self, job: Job) -> None:
        generations = await self.generations.for_job(job.id)
        payloads = [(g, await self.files.read(g.mp3_path)) for g in generations]
        embed = result_embed(
            job,
            [g.seed for g in generations],
            model=generations[0].model if generations else self.model_name,
            gen_seconds=job.gen_seconds or 0.0,
            requester=f"<@{job.user_id}>",
        )

        def files() -> list[discord.File]:
            return [discord.File(io.BytesIO(data), filename=_filename(g)) for g, data in payloads]

        content = f"🎧 {_VERBS.get(job.kind, 'Here is')} **{_escape(job.request.user_text)}**"
        limit = self._upload_limit(job)
        for attempt in range(UPLOAD_SHRINK_ATTEMPTS + 1):
            try:
                message = await self.messenger.post_result(
                    job, content=content, embed=embed, files=files, view=self.view_factory(job)
                )
                break
            except discord.HTTPException as exc:
                if (exc.status != 413 and exc.code != 40005) or attempt == UPLOAD_SHRINK_ATTEMPTS:
                    raise
                # Over the upload limit (which Discord does not always tell in advance): re-encode
                # at the highest bitrate that fits a smaller budget, and try again.
                limit = min(limit, int(max(len(data) for _, data in payloads) * 0.6))
                log.warning("job %d: upload refused as too large; re-encoding under %d bytes", job.id, limit)
                payloads = [(g, await asyncio.to_thread(fit_mp3, data, limit)) for g, data in payloads]
        await self.generations.set_message(job.id, message.id)
        job = await self.jobs.mark_done(job.id, message.id)
        self.completed += 1
        log.info("job %d: delivered as message %d", job.id, message.id)
        await self.messenger.add_reroll_reaction(message)
        await self._close_status(job)

    def _upload_limit(self, job: Job) -> int:
        guild = self.messenger.guild(job)
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    async def _close_status(self, job: Job) -> None:
        if job.kind == KIND_AMBIENT:
            await self.messenger.final_status(job, f"✅ Done in {job.gen_seconds or 0:.1f} s — see below.")
        else:
            await self.messenger.remove_status(job)

    async def _recover_posting(self, job: Job) -> None:
        """A crash hit between "about to post" and "posted": post only if it did not arrive."""
        with job_context(job.id):
            await self._recover(job)

    async def _recover(self, job: Job) -> None:
        found = await self.messenger.find_posted_result(job)
        if found is not None:
            await self.generations.set_message(job.id, found)
            await self.jobs.mark_done(job.id, found)
            log.info("job %d: result %d was already posted before the restart", job.id, found)
            return
        log.info("job %d: re-posting after restart", job.id)
        try:
            await self._post(job)
        except Exception as exc:
            log.exception("job %d: re-posting failed", job.id)
            await self._fail(job, f"Your soundscape could not be posted ({_reason(exc)}).")


_VERBS = {KIND_REROLL: "Rerolled", KIND_TWEAK: "Tweaked"}


def _filename(generation: Generation) -> str:
    return mp3_filename(generation.user_text, generation.seed)


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.Forbidden):
        return (
            "the bot is missing a permission here: it needs Send Messages, Attach Files, "
            "Embed Links and Add Reactions"
        )
    if isinstance(exc, discord.NotFound):
        return "the channel or message no longer exists"
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status}"
    return type(exc).__name__
