"""Jobs that need no GPU (a stored best-of-N candidate, a level change), served at once."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from bot.jobs.delivery import Delivery
from bot.jobs.queue import JobQueue
from bot.logs import job_context
from bot.storage import CandidateStore, Job, JobStateError, JobStore, Mp3Files, StemFiles, StoredCandidate
from bot.tasks import spawn
from generation.audio.finishing import FinishSettings
from generation.audio.mp3 import mp3_duration
from generation.recipes.order import Clip, Offload, RenderContext, Rendered, RenderJob
from generation.recipes.render import render

log = logging.getLogger(__name__)


class GpuFreeJobs:
    """Serves jobs without GPU work beside whatever the GPU is doing (the scheduler's ``serve_now``)."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        jobs: JobStore,
        delivery: Delivery,
        candidates: CandidateStore,
        stems: StemFiles,
        files: Mp3Files,
        finish_settings: FinishSettings,
        offload: Offload,
        tasks: set[asyncio.Task[object]],
    ) -> None:
        self.queue = queue
        self.jobs = jobs
        self.delivery = delivery
        self.candidates = candidates
        self.stems = stems
        self.files = files
        self.finish_settings = finish_settings
        self.offload = offload
        self._tasks = tasks
        """The scheduler's tasks, so that its stop lets these deliveries end too."""

    async def serve(self, job: Job) -> None:
        """Start a job that needs no GPU at once, beside whatever the GPU is doing."""
        try:
            job = await self.jobs.mark_running(job.id)
        except JobStateError:
            return
        with job_context(job.id):
            if job.recipe.candidate_of is not None:
                stored = await self.candidates.claim_next(job.recipe.candidate_of, job.id)
                if stored is None:
                    # Someone else's 🔁 took the last one a moment ago: a new seed on the GPU instead.
                    log.info("job %d: no candidate left; generating a new take", job.id)
                    recipe = dataclasses.replace(job.recipe, candidate_of=None)
                    cost = self.queue.sizes.size(job.request, recipe, job.variations).cost
                    await self.queue.put(await self.jobs.requeue_as(job.id, recipe, cost))
                    return
                result = asyncio.ensure_future(self._candidate(job, stored))
            else:
                result = asyncio.ensure_future(self._remix(job))
        spawn(self.delivery.deliver(job, result), f"serve-{job.id}", self._tasks)  # type: ignore[arg-type]

    async def _candidate(self, job: Job, stored: StoredCandidate) -> Rendered:
        """A stored best-of-N candidate, posted as it is."""
        mp3 = await self.files.read(stored.mp3_path)
        lufs = stored.lufs if stored.lufs is not None else float("nan")
        # The length from the stream's header info (at the rate of the model that made it): no
        # need to decode the whole file.
        duration = await asyncio.to_thread(mp3_duration, mp3)
        log.info("job %d: serving candidate %d of job %d", job.id, stored.rank + 1, stored.job_id)
        return Rendered(posted=[Clip(stored.request, mp3, lufs, duration, stored.score)], seconds=0.0)

    async def _remix(self, job: Job) -> Rendered:
        """A stored scene at new levels: mixing and finishing, no GPU."""
        recipe = job.recipe
        parent = await self.jobs.get(recipe.source_job_id) if recipe.source_job_id is not None else None
        source = await self.stems.load(parent) if parent is not None else None
        made_by = await self.delivery.generations.for_job(parent.id) if parent is not None else []
        order = RenderJob(
            job.request, recipe, source=source, source_model=made_by[0].model if made_by else None
        )
        context = RenderContext(gpu=None, finish_settings=self.finish_settings, offload=self.offload)
        return await render(context, order)
