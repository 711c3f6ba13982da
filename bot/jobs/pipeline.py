"""The job pipeline, assembled: queue → scheduler → executor → delivery → answers, and its
start (recovering what the last run left) and stop.

::

    cog ─▶ JobService (admission by cost, in the inserting transaction) ─▶ jobs table + JobQueue
    JobQueue ─▶ Scheduler (fair batches) ─▶ Executor (GPU: here or remote) ─▶ Delivery (post once)
    Delivery / Outbox ─▶ Answers (status closed, 🔁, failure shown) ─▶ answered_at
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord

from bot.config import Config
from bot.jobs.admission import JobSizes
from bot.jobs.answers import Answers
from bot.jobs.cpu_pool import CpuPool
from bot.jobs.delivery import Delivery
from bot.jobs.executor import Executor
from bot.jobs.messenger import Messenger
from bot.jobs.outbox import Outbox
from bot.jobs.poster import Poster
from bot.jobs.queue import JobQueue
from bot.jobs.queue_status import QueueStatus
from bot.jobs.scheduler import Scheduler
from bot.jobs.service import JobService
from bot.storage import (
    CandidateStore,
    CompareStore,
    Database,
    GenerationStore,
    Job,
    JobStore,
    Mp3Files,
    StemFiles,
)
from bot.tasks import Supervised

log = logging.getLogger(__name__)

#: On shutdown, how long a running generation may take to finish before it is left for the
#: next start (it stays "running" in the database and is re-queued then).
SHUTDOWN_GRACE_S = 30.0


@dataclass(frozen=True)
class Stores:
    jobs: JobStore
    generations: GenerationStore
    files: Mp3Files
    candidates: CandidateStore
    stems: StemFiles
    compares: CompareStore

    @classmethod
    def open(cls, db: Database, config: Config) -> Stores:
        return cls(
            jobs=JobStore(db),
            generations=GenerationStore(db),
            files=Mp3Files(config.storage.data_dir),
            candidates=CandidateStore(db),
            stems=StemFiles(db, config.storage.data_dir),
            compares=CompareStore(db),
        )


class Pipeline:
    """Every part of the job pipeline, wired once (see the module docstring)."""

    def __init__(
        self,
        client: discord.Client,
        config: Config,
        stores: Stores,
        executor: Executor,
        view_factory: Callable[[Job], discord.ui.View | None],
        cpu: CpuPool | None = None,
    ) -> None:
        self.config = config
        self.cpu = cpu or CpuPool()
        """The audio worker process: finishing, mixing and pictures run there, not in the bot."""
        self.stores = stores
        self.executor = executor
        self.queue = JobQueue(sizes=JobSizes(config.model.catalog()))
        self.queue.lanes = lambda: executor.lanes
        self.messenger = Messenger(
            client,
            status_interval_s=config.discord.status_interval_s,
            interaction_ttl_s=config.discord.interaction_ttl_s,
        )
        self.poster = Poster(client, timeout_s=config.discord.post_timeout_s)
        self.answers = Answers(stores.jobs, self.messenger, self.poster)
        self.delivery = Delivery(
            jobs=stores.jobs,
            generations=stores.generations,
            files=stores.files,
            candidates=stores.candidates,
            stems=stores.stems,
            messenger=self.messenger,
            poster=self.poster,
            answers=self.answers,
            view_factory=view_factory,
            model_name=lambda: executor.model_name,
            offload=self.cpu.run,
            reveal_after=config.compare.reveal_after_votes,
        )
        self.scheduler = Scheduler(
            queue=self.queue,
            jobs=stores.jobs,
            executor=executor,
            delivery=self.delivery,
            messenger=self.messenger,
            candidates=stores.candidates,
            stems=stores.stems,
            files=stores.files,
            finish_settings=config.audio.finish_settings(),
            batch_window_ms=config.queue.batch_window_ms,
            offload=self.cpu.run,
        )
        self.outbox = Outbox(stores.jobs, self.delivery, self.answers)
        self.outbox_loop = Supervised("the outbox", self.outbox.run)
        self.queue_status = QueueStatus(self.queue, self.messenger, executor.available, executor.route)
        self.service = JobService(
            jobs=stores.jobs,
            queue=self.queue,
            scheduler=self.scheduler,
            messenger=self.messenger,
            limits=config.queue.limits(),
            max_variations=config.queue.max_variations,
            candidates=stores.candidates,
            stems=stores.stems,
            answers=self.answers,
            compares=stores.compares,
            catalog=config.model.catalog(),
        )

    async def start(self) -> None:
        """Recover what the last run left, then start the loops.

        Rows that no longer decode are failed (and their users told); jobs that were running
        are queued again, unless they were running at ``[queue] max_attempts`` crashes (then they
        fail with a message) — a job whose work is still alive on a GPU worker did not crash, and
        its restart is no attempt; unconfirmed posts and owed answers are resolved by the outbox.
        """
        jobs = self.stores.jobs
        await jobs.fail_unreadable([job for job in await jobs.active() if job.unreadable])
        queued, given_up = await jobs.requeue_interrupted(
            self.config.queue.max_attempts, self.executor.surviving()
        )
        await self.queue.put_many(job for job in queued if job.recipe.needs_gpu)
        for job in queued:
            if not job.recipe.needs_gpu:
                await self.scheduler.serve_now(job)
        if queued or given_up:
            log.info(
                "start: %d job(s) queued, %d given up after repeated crashes", len(queued), len(given_up)
            )
        self.scheduler.start()
        self.outbox_loop.start()

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop accepting; give the running batch ``grace_s``; keep queued jobs for the next start."""
        self.service.accepting = False
        try:
            await self.scheduler.stop(grace_s)
        finally:
            await self.outbox_loop.stop()
            await self.poster.close()
            await self.cpu.close()

    def state(self) -> dict[str, str]:
        """The loops' health, for ``/status``."""
        return {"Scheduler": self.scheduler.loop.state, "Outbox": self.outbox_loop.state}
