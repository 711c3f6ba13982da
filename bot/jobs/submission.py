"""Queueing new jobs: the size check, admission in the inserting transaction, the queue, then "Queued".

Every job is admitted by :mod:`bot.jobs.admission` inside the transaction that inserts it (count
and insert together), then put in the queue; only then is the user told "Queued".
"""

from __future__ import annotations

import logging
import random

import discord

from bot.errors import UserError
from bot.jobs.admission import Limits, admission, too_big
from bot.jobs.answers import Answers
from bot.jobs.messenger import NETWORK_ERRORS, Messenger
from bot.jobs.queue import JobQueue
from bot.jobs.scheduler import Scheduler
from bot.metrics import metrics
from bot.storage import KIND_AMBIENT, AdmissionRefused, CandidateStore, CompareStore, Job, JobStore, StemFiles
from bot.ui.job_texts import RESTARTING, queued_text, waiting_for_gpu_text
from generation.models import ModelCatalog
from generation.recipes.recipe import PLAIN, Recipe
from generation.request import GenerationRequest

log = logging.getLogger(__name__)


class JobSubmission:
    """Creates jobs (SQLite first, then the queue) within the limits; the base of :class:`JobService`."""

    def __init__(
        self,
        *,
        jobs: JobStore,
        queue: JobQueue,
        scheduler: Scheduler,
        messenger: Messenger,
        limits: Limits,
        max_variations: int,
        candidates: CandidateStore,
        stems: StemFiles,
        answers: Answers,
        compares: CompareStore | None = None,
        catalog: ModelCatalog | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.jobs = jobs
        self.queue = queue
        self.scheduler = scheduler
        self.messenger = messenger
        self.limits = limits
        self.max_variations = max_variations
        self.candidates = candidates
        self.stems = stems
        self.answers = answers
        self.compares = compares
        self.catalog = catalog
        """The models on offer (None: stored scenes naming a model can't be rerolled)."""
        self._rng = rng or random.SystemRandom()
        self.accepting = True

    def _check_accepting(self) -> None:
        if not self.accepting:
            raise UserError(RESTARTING)

    def check_size(self, request: GenerationRequest, recipe: Recipe, variations: int) -> float:
        """The job's cost; raises :class:`UserError` at once when it is too big to ever run."""
        if not 1 <= variations <= self.max_variations:
            raise UserError(
                f"Variations must be between 1 and {self.max_variations}; you asked for {variations}."
            )
        recipe.check_variations(variations)
        cost = self.queue.sizes.size(request, recipe, variations).cost
        refusal = too_big(cost, self.limits)
        if refusal:
            metrics().job_event("refused", request.model)
            raise UserError(refusal)
        return cost

    async def _create(
        self, *, cost: float, remix: bool = False, queue_limits: bool = True, **fields: object
    ) -> Job:
        self._check_accepting()
        check = admission(self.limits, cost, remix=remix, queue_limits=queue_limits)
        try:
            return await self.jobs.create(cost=cost, admission=check, **fields)  # type: ignore[arg-type]
        except AdmissionRefused as refusal:
            raise UserError(str(refusal)) from None

    def status_text(self, job: Job) -> str:
        place = self.queue.view().place(job.id)
        if place is None:
            return "Queued"
        total = len(self.queue)
        if not self.scheduler.executor.available():
            return waiting_for_gpu_text(place.position, total)
        return queued_text(place.position, total, place.eta_s)

    async def submit_command(
        self,
        interaction: discord.Interaction,
        request: GenerationRequest,
        variations: int,
        *,
        recipe: Recipe = PLAIN,
        placeholder_id: int | None = None,
        kind: str = KIND_AMBIENT,
    ) -> Job:
        """Queue a slash-command job; the deferred response becomes its status message.

        ``placeholder_id`` is the deferred response's message id when Discord returned it: it
        is stored with the job before anything else happens, so a restart can still update it.
        Once the job is queued, nothing that goes wrong while showing "Queued" is an error for
        the user: the job runs, and its status message is updated as it goes.
        """
        cost = self.check_size(request, recipe, variations)
        job = await self._create(
            kind=kind,
            request=request,
            recipe=recipe,
            variations=variations,
            cost=cost,
            application_id=interaction.application_id,
            interaction_token=interaction.token,
            interaction_created_at=interaction.created_at.timestamp(),
            **asked_by(interaction),
        )
        if placeholder_id is not None:
            await self.jobs.set_status_message(job.id, placeholder_id)
        if recipe.compare:
            if self.compares is None:
                raise RuntimeError("comparisons need the compare store")
            await self.compares.ensure(job)  # before it can run: its votes need the row
        await self.queue.put(job)
        log.info(
            "job %d: queued by %s (%d) in channel %d", job.id, job.user_name, job.user_id, job.channel_id
        )
        status = self.status_text(job)
        try:
            message = await interaction.edit_original_response(content=status)
        except (discord.HTTPException, *NETWORK_ERRORS) as exc:
            log.warning("job %d: could not show 'Queued' (%s); it runs all the same", job.id, exc)
            return job
        self.messenger.register_status(job, message.id, status)
        if message.id != placeholder_id:
            await self.jobs.set_status_message(job.id, message.id)
        return job

    async def _enqueue_with_channel_status(self, job: Job, label: str, *, reply_to: int | None) -> None:
        """Queue a job that has no interaction message of its own: its status is a channel post."""
        await self.queue.put(job)
        status_id = await self.messenger.post_status(
            job, f"{label} for <@{job.user_id}> — {self.status_text(job)}", reply_to=reply_to
        )
        if status_id is not None:
            await self.jobs.set_status_message(job.id, status_id)

    async def submit_component(
        self,
        interaction: discord.Interaction,
        request: GenerationRequest,
        *,
        kind: str,
        label: str,
        parent_job_id: int | None = None,
        recipe: Recipe = PLAIN,
        reply_to: int | None = None,
    ) -> Job:
        """Queue a job asked for from a button or a modal, credited to the user who clicked.

        The caller has deferred the interaction (ephemerally) and tells the user; the job's
        status is a channel message, as for rerolls, so it can be edited after the interaction
        token is gone; ``label`` starts it ("🔁 Reroll"). Counted against the user's limits like
        any other job.
        """
        cost = self.check_size(request, recipe, 1)
        job = await self._create(
            cost=cost, kind=kind, request=request, recipe=recipe, parent_job_id=parent_job_id,
            **asked_by(interaction),
        )  # fmt: skip
        await self._enqueue_with_channel_status(job, label, reply_to=reply_to)
        log.info("job %d: %s by %s (%d)", job.id, kind, interaction.user.display_name, interaction.user.id)
        return job


def asked_by(interaction: discord.Interaction) -> dict[str, object]:
    """Who asked, where, and the key that makes queueing one interaction idempotent."""
    if interaction.channel_id is None:
        # Every interaction that can queue a job happens in a channel (a DM is one too).
        raise UserError("I can't tell which channel this came from, so I can't post a result there.")
    return {
        "user_id": interaction.user.id,
        "user_name": interaction.user.display_name,
        "guild_id": interaction.guild_id,
        "channel_id": interaction.channel_id,
        "idempotency_key": f"interaction:{interaction.id}",
    }
