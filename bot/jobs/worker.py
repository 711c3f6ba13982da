"""The worker: takes jobs from the fair queue, feeds the GPU executor, delivers results.

The GPU part is strictly sequential (one executor). Everything after it — MP3 finishing,
storage, uploads — runs as a separate task so the GPU starts the next job at once.

Delivery is exactly-once: the MP3s and their rows are saved first, then the intent to post is
recorded (``posting``), then the message is posted and confirmed (``done``). After a crash, a
``posting`` job is looked up in the channel by its marker before anything is re-posted.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import discord

from bot.jobs.estimate import DurationEstimator, generating_text, queued_text, starting_text
from bot.jobs.messenger import Messenger
from bot.jobs.queue import JobQueue
from bot.jobs.renders import (
    Clip,
    RenderContext,
    Rendered,
    finish_waveforms,
    remix,
    render_layer_reroll,
    render_layers,
    render_long,
    render_ranked,
)
from bot.logs import job_context
from bot.storage import (
    KIND_AMBIENT,
    KIND_LAYER,
    KIND_REMIX,
    KIND_REROLL,
    KIND_TWEAK,
    CandidateStore,
    Generation,
    GenerationStore,
    Job,
    JobStateError,
    JobStore,
    Mp3Files,
    StemFiles,
)
from bot.ui.embeds import result_embed
from bot.ui.text import PROMPT_IN_CONTENT, shown
from generation.audio.finishing import FinishSettings
from generation.audio.mp3 import decode_mp3, mp3_frames
from generation.audio.reencode import fit_mp3
from generation.audio.spectrogram import spectrogram_strip_png
from generation.errors import Cancelled, GenerationError, OutOfMemory, RequestError
from generation.executor import BatchResult, GpuExecutor, StuckGeneration
from generation.naming import mp3_filename
from generation.recipes.long_render import plan_long_render
from generation.recipes.mixing import Mix
from generation.request import MAX_SEED, GenerationRequest

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


def job_size(job: Job) -> tuple[int, float, int]:
    """(steps, seconds of audio per waveform, waveforms) of the GPU work a job needs."""
    recipe, request = job.recipe, job.request
    if not recipe.needs_gpu:
        return request.steps, 0.0, 0
    if recipe.reroll_layer is not None:
        return request.steps, request.duration_s, 1
    if recipe.layered:
        return request.steps, request.duration_s, len(recipe.layers)
    if recipe.length_s is not None:
        plan = plan_long_render(request, recipe.length_s, loop=recipe.loop)
        return request.steps, plan.segment_s, plan.count
    return request.steps, request.duration_s, job.variations * recipe.candidates


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
        candidates: CandidateStore,
        stems: StemFiles,
        estimator: DurationEstimator | None = None,
        max_batch: int = 0,
        batch_window_ms: int = 0,
    ) -> None:
        self.queue = queue
        self.jobs = jobs
        self.generations = generations
        self.files = files
        self.executor = executor
        self.messenger = messenger
        self.finish_settings = finish_settings
        self.view_factory = view_factory
        self.candidates = candidates
        self.stems = stems
        self.estimator = estimator or DurationEstimator()
        self.max_batch = max_batch
        """Most clips per pipeline call; 0: sized from free GPU memory."""
        self.batch_window_s = batch_window_ms / 1000
        self._work_waiting = False
        self.idle_gaps_ms: collections.deque[float] = collections.deque(maxlen=1000)
        """Recent gaps between GPU calls while jobs were waiting (measured, for /status)."""
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
            total = self.estimator.estimate(*job_size(running))
            remaining += max(0.0, total - (now - (running.started_at or now)))
        for ahead in self.queue.ordered():
            if ahead.id == job.id:
                break
            remaining += self.estimator.estimate(*job_size(ahead))
        return remaining

    def waiting(self) -> list[tuple[Job, float]]:
        return [(job, self.eta_for(job)) for job in self.queue.ordered()]

    def refresh_queue_statuses(self) -> None:
        """Re-show every waiting job's place (edits are throttled and skipped when unchanged)."""
        waiting = self.waiting()
        for position, (job, eta) in enumerate(waiting, start=1):
            self.messenger.update_status(job, queued_text(position, len(waiting), eta))

    # -- the GPU loop ---------------------------------------------------------------------

    def batch_limit(self, first: Job) -> int:
        """Most clips in one pipeline call with ``first``; see :meth:`batch_limit_for`."""
        return self.batch_limit_for(first.request.duration_s)

    def batch_limit_for(self, duration_s: float) -> int:
        """Most clips of ``duration_s`` in one call: the configured maximum, else from GPU memory."""
        return self.max_batch or self.executor.engine.max_batch(duration_s)

    @staticmethod
    def compatible(first: Job, other: Job) -> bool:
        """Plain clips with equal steps, duration, guidance and scheduler share a pipeline call."""
        return (
            first.recipe.batchable
            and other.recipe.batchable
            and first.request.batch_key() == other.request.batch_key()
        )

    async def _take(self) -> list[Job]:
        batch = await self.queue.take(self.batch_limit, self.compatible, _clips)
        if self.batch_window_s > 0 and batch[0].recipe.batchable:
            # Let compatible jobs that arrive within the window ride along (0 = never wait).
            room = self.batch_limit(batch[0]) - sum(map(_clips, batch))
            if room > 0:
                await asyncio.sleep(self.batch_window_s)
                batch += await self.queue.take_more(batch[0], room, self.compatible, _clips)
        return batch

    async def _loop(self) -> None:
        while not self._stopping:
            batch = await self._take()
            self._idle.clear()
            try:
                with job_context(batch[0].id):
                    await self._run(batch)
            except Exception:  # a bug in one batch must not stop the worker
                log.exception("jobs %s: unexpected failure", _ids(batch))
                for job in batch:
                    await self._fail(job, "Something went wrong while generating. Please try again.")
            finally:
                self._idle_since = time.perf_counter()
                self._work_waiting = len(self.queue) > 0
                self.queue.set_running([])
                self._idle.set()

    def _gpu_starts(self) -> None:
        """Note the gap since the previous GPU work ended, when jobs were waiting for it."""
        if self._idle_since is not None and self._work_waiting:
            gap_ms = (time.perf_counter() - self._idle_since) * 1000
            self.idle_gaps_ms.append(gap_ms)
            log.info("executor idle gap %.1f ms with work waiting", gap_ms)
        self._idle_since = None

    async def _start_jobs(self, batch: list[Job]) -> list[Job]:
        started = []
        for job in batch:
            try:
                started.append(await self.jobs.mark_running(job.id))
            except JobStateError:
                log.info("job %d: no longer queued (cancelled?), skipped", job.id)
        self.queue.set_running(started)
        for job in started:
            self.messenger.update_status(job, starting_text())
        return started

    async def _run(self, batch: list[Job]) -> None:
        if batch[0].recipe.batchable:
            await self._run_batch(batch)
            return
        jobs = await self._start_jobs(batch)
        if not jobs:
            return
        if not jobs[0].recipe.needs_gpu:
            # Served from stored audio (a best-of-N candidate, a remix): no GPU, no waiting.
            self._spawn(self._serve_stored(jobs[0]), f"serve-{jobs[0].id}")
            return
        await self._run_special(jobs[0])

    async def _run_batch(self, batch: list[Job]) -> None:
        """One pipeline call for every clip of every job in the batch."""
        requests = [job_requests(job) for job in batch]
        flat = [request for group in requests for request in group]
        first = batch[0].request
        skipped: set[int] = set()

        def on_progress(step: int, total: int) -> None:
            text = generating_text(step, total)
            for job in batch:
                if job.id not in skipped:
                    self.messenger.update_status(job, text)

        # A batch stops early only when every job in it was cancelled; a job cancelled alone
        # is dropped at the end, so the others are not made to start over.
        def should_stop() -> bool:
            return all(job.id in self._stop_requested or job.id in skipped for job in batch)

        self.queue.set_running(batch)
        self._gpu_starts()
        # The GPU starts first: the queue's copies of the jobs hold everything it needs, and the
        # database learns that they run while it works (a crash before that re-queues them,
        # which is what would happen anyway). This keeps the GPU's idle gap free of disk I/O.
        generation = asyncio.ensure_future(
            self.executor.generate(flat, on_progress=on_progress, should_stop=should_stop)
        )
        try:
            started = {job.id: job for job in await self._start_jobs(batch)}
        except BaseException:
            generation.cancel()
            raise
        skipped.update(job.id for job in batch if job.id not in started)
        log.info(
            "jobs %s: generating %d × %gs, %d steps", _ids(batch), len(flat), first.duration_s, first.steps
        )
        try:
            result = await generation
        except Exception as exc:
            for job in started.values():
                await self._generation_failed(job, exc)
            return
        self.estimator.observe(first.steps, first.duration_s, len(flat), result.seconds)
        log.info("batch of %d job(s), %d clip(s) generated in %.3fs", len(batch), len(flat), result.seconds)
        offset = 0
        for queued, group in zip(batch, requests, strict=True):
            waveforms = result.waveforms[offset : offset + len(group)]
            offset += len(group)
            job = started.get(queued.id)
            if job is None or await self._dropped_by_cancel(job):
                continue  # cancelled before it was marked running: its audio is not wanted
            log.info("job %d: generated in %.2fs", job.id, result.seconds)
            self._spawn(self._finish_and_deliver(job, group, waveforms, result), f"deliver-{job.id}")

    async def _dropped_by_cancel(self, job: Job) -> bool:
        if job.id not in self._stop_requested:
            return False
        await self._cancelled(job)
        return True

    async def _cancelled(self, job: Job) -> None:
        """Record and show that a running job was stopped by its user."""
        self._stop_requested.discard(job.id)
        await self.jobs.mark_cancelled(job.id)
        await self.messenger.final_status(job, "🛑 Cancelled.")
        log.info("job %d: cancelled while running", job.id)

    async def _finish_and_deliver(
        self, job: Job, requests: list[GenerationRequest], waveforms: list, result: BatchResult
    ) -> None:
        try:
            clips = await finish_waveforms(
                requests,
                waveforms,
                result.sample_rate,
                self.finish_settings,
                self.model_name,
                loop=job.recipe.loop,
            )
        except Exception as exc:
            log.exception("job %d: finishing failed", job.id)
            await self._fail(
                job, f"Your soundscape was generated but could not be finished ({_reason(exc)})."
            )
            return
        await self._deliver(job, Rendered(posted=clips, seconds=result.seconds))

    def _context(self, job: Job) -> RenderContext:
        return RenderContext(
            executor=self.executor,
            finish_settings=self.finish_settings,
            model=self.model_name,
            status=lambda text: self.messenger.update_status(job, text),
            should_stop=lambda: job.id in self._stop_requested,
        )

    async def _run_special(self, job: Job) -> None:
        """A job that needs the GPU alone: best-of-N, a layered scene, a layer reroll, a long render."""
        recipe = job.recipe
        ctx = self._context(job)
        log.info("job %d: %s", job.id, ", ".join(f"{k} {v}" for k, v in recipe.describe()) or "special")
        try:
            # The stored stems are read before the GPU is counted as starting.
            source = await self._source_mix(job) if recipe.reroll_layer is not None else None
            self._gpu_starts()
            if source is not None:
                rendered = await render_layer_reroll(ctx, recipe, source)
            elif recipe.layered:
                rendered = await render_layers(ctx, recipe)
            elif recipe.length_s is not None:
                rendered = await render_long(ctx, job.request, recipe, self._upload_limit(job))
            else:
                rendered = await render_ranked(ctx, job.request, recipe)
        except Exception as exc:
            await self._generation_failed(job, exc)
            return
        log.info("job %d: generated in %.2fs", job.id, rendered.seconds)
        self._spawn(self._deliver(job, rendered), f"deliver-{job.id}")

    async def _source_mix(self, job: Job) -> Mix:
        source = None
        if job.recipe.source_job_id is not None:
            source = await self.stems.load(job.recipe.source_job_id)
        if source is None:
            raise RequestError("The layers of that scene are no longer stored, so it can't be changed.")
        return source

    async def serve_now(self, job: Job) -> None:
        """Start a job that needs no GPU at once, beside whatever the GPU is doing."""
        try:
            job = await self.jobs.mark_running(job.id)
        except JobStateError:
            return
        self._spawn(self._serve_stored(job), f"serve-{job.id}")

    async def _serve_stored(self, job: Job) -> None:
        """Post audio that needs no GPU work: the next best-of-N candidate, or a remix."""
        with job_context(job.id):
            try:
                if job.recipe.candidate_of is not None:
                    rendered = await self._claim_candidate(job)
                    if rendered is None:
                        return  # re-queued for the GPU with its new seed
                else:
                    source = await self._source_mix(job)
                    rendered = await remix(self._context(job), job.recipe, source)
            except Exception as exc:
                await self._generation_failed(job, exc)
                return
            await self._deliver(job, rendered)

    async def _claim_candidate(self, job: Job) -> Rendered | None:
        assert job.recipe.candidate_of is not None
        stored = await self.candidates.claim_next(job.recipe.candidate_of, job.id)
        if stored is None:
            # Someone else's 🔁 took the last one a moment ago: a new seed on the GPU instead.
            log.info("job %d: no candidate left; generating a new take", job.id)
            job = await self.jobs.requeue_as(job.id, dataclasses.replace(job.recipe, candidate_of=None))
            await self.queue.put(job)
            return None
        mp3 = await self.files.read(stored.mp3_path)
        lufs = stored.lufs if stored.lufs is not None else float("nan")
        # The length from the stream's header info: no need to decode the whole file.
        duration = await asyncio.to_thread(mp3_frames, mp3) / self.executor.engine.sample_rate
        clip = Clip(stored.request, mp3, lufs, duration, stored.score)
        log.info("job %d: serving candidate %d of job %d", job.id, stored.rank + 1, stored.job_id)
        return Rendered(posted=[clip], seconds=0.0)

    async def _generation_failed(self, job: Job, exc: BaseException) -> None:
        """Tell the user why their job ended, in their terms."""
        if isinstance(exc, Cancelled):
            await self._cancelled(job)
        elif isinstance(exc, StuckGeneration):
            log.error("job %d: generation stalled; the executor was rebuilt", job.id)
            await self._fail(
                job, "The generator got stuck on this request and was restarted. Please try again."
            )
        elif isinstance(exc, OutOfMemory):
            await self._fail(
                job, "The GPU ran out of memory for this request. Try a shorter duration or fewer variations."
            )
        elif isinstance(exc, RequestError):
            await self._fail(job, str(exc))
        elif isinstance(exc, GenerationError):
            log.error("job %d: generation failed: %s", job.id, exc)
            await self._fail(job, "The model failed on this request. Please try again.")
        else:
            log.error("job %d: unexpected failure", job.id, exc_info=exc)
            await self._fail(job, "Something went wrong while generating. Please try again.")

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

    async def _deliver(self, job: Job, rendered: Rendered) -> None:
        """Store the clips (and spares, stems), record the intent to post, post."""
        model = self.model_name
        try:
            for index, clip in enumerate(rendered.posted):
                rel, sha = await self.files.save(clip.mp3)
                await self.generations.add(
                    job,
                    index,
                    clip.request,
                    model=model,
                    mp3_path=rel,
                    mp3_sha256=sha,
                    mp3_bytes=len(clip.mp3),
                    lufs=clip.lufs,
                    gen_seconds=rendered.seconds,
                    # History lists what was made: a loop's or a long render's real length.
                    duration_s=round(clip.duration_s, 2) if job.recipe.loop or job.recipe.length_s else None,
                )
                if rendered.spares:
                    await self._keep_candidate(job, 0, clip, rel, sha)
            for rank, clip in enumerate(rendered.spares, start=1):
                rel, sha = await self.files.save(clip.mp3)
                await self._keep_candidate(job, rank, clip, rel, sha)
            if rendered.mix is not None:
                await self.stems.save(job.id, rendered.mix)
            job = await self.jobs.mark_posting(job.id, rendered.seconds)
            await self._post(job)
        except Exception as exc:
            log.exception("job %d: delivery failed", job.id)
            await self._fail(job, f"Your soundscape was generated but could not be posted ({_reason(exc)}).")

    async def _keep_candidate(self, job: Job, rank: int, clip: Clip, rel: str, sha: str) -> None:
        await self.candidates.add(
            job.id,
            rank,
            score=clip.score if clip.score is not None else float("nan"),
            request=clip.request,
            mp3_path=rel,
            mp3_sha256=sha,
            mp3_bytes=len(clip.mp3),
            lufs=clip.lufs,
        )

    async def _post(self, job: Job) -> None:
        generations = await self.generations.for_job(job.id)
        payloads = [(g, await self.files.read(g.mp3_path)) for g in generations]
        picture = await asyncio.to_thread(_picture, [data for _, data in payloads])
        embed = result_embed(
            job,
            [g.seed for g in generations],
            model=generations[0].model if generations else self.model_name,
            gen_seconds=job.gen_seconds or 0.0,
            requester=f"<@{job.user_id}>",
            durations=picture.durations,
            image=SPECTROGRAM_FILENAME if picture.png else None,
            candidates_left=await self.candidates.unserved(job.id) if job.recipe.candidates > 1 else None,
        )

        png = picture.png

        def files() -> list[discord.File]:
            attached = [discord.File(io.BytesIO(data), filename=_filename(g)) for g, data in payloads]
            if png:
                attached.append(discord.File(io.BytesIO(png), filename=SPECTROGRAM_FILENAME))
            return attached

        content = (
            f"🎧 {_VERBS.get(job.kind, 'Here is')} **{shown(job.request.user_text, PROMPT_IN_CONTENT)}**"
        )
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
                if png:  # the sound matters more than its picture
                    png = None
                    embed.set_image(url=None)
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


_VERBS = {
    KIND_REROLL: "Rerolled",
    KIND_TWEAK: "Tweaked",
    KIND_LAYER: "Rerolled a layer of",
    KIND_REMIX: "Remixed",
}

#: The result picture's attachment name; the embed shows it with ``attachment://``.
SPECTROGRAM_FILENAME = "spectrogram.png"


def _filename(generation: Generation) -> str:
    return mp3_filename(generation.user_text, generation.seed)


def _clips(job: Job) -> int:
    """How many waveforms the job adds to a batch."""
    return job.variations


def _ids(jobs: list[Job]) -> str:
    return ",".join(str(job.id) for job in jobs)


@dataclass(frozen=True)
class _Picture:
    durations: list[float]
    png: bytes | None


def _picture(mp3s: list[bytes]) -> _Picture:
    """Each file's real duration and one spectrogram of them all (a stack for variations).

    Drawn from the stored MP3s, so a result re-posted after a restart gets the same picture.
    """
    decoded = [decode_mp3(data) for data in mp3s]
    durations = [samples.shape[0] / rate for samples, rate in decoded]
    try:
        clips = [samples for samples, _ in decoded]
        png = spectrogram_strip_png(clips, decoded[0][1], width=480, height=160) if decoded else None
    except Exception:  # a picture is a nicety; the sound is what must get through
        log.exception("spectrogram failed")
        png = None
    return _Picture(durations, png)


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
