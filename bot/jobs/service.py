"""Rerolling, remixing and cancelling jobs, on top of queueing them (:mod:`bot.jobs.submission`)."""

from __future__ import annotations

import dataclasses
import logging

import discord

from bot.errors import UserError
from bot.jobs.admission import admission
from bot.jobs.submission import JobSubmission, asked_by
from bot.storage import KIND_LAYER, KIND_REMIX, KIND_REROLL, AdmissionRefused, Job, JobStatus
from bot.ui.text import PROMPT_IN_CONTENT, shown
from generation.errors import RequestError
from generation.recipes.layers import describe_layers, is_layered
from generation.recipes.mixing import Mix
from generation.recipes.recipe import PLAIN, build_order, fresh_recipe
from generation.recipes.stored import stored_scene_order
from generation.request import MAX_SEED, GenerationRequest

log = logging.getLogger(__name__)


class JobService(JobSubmission):
    """Creates jobs (SQLite first, then the queue), enforces limits, cancels."""

    def _new_take(self, request: GenerationRequest) -> GenerationRequest:
        """The same request with a fresh random seed."""
        return request.with_seed(self._rng.randint(0, MAX_SEED))

    async def reroll(self, parent: Job, *, message_id: int, user: discord.abc.User) -> Job | None:
        """Queue a new take of ``parent`` for ``user``; None if they already rerolled that message.

        With best-of-N candidates left, the next-best one is posted at once, without GPU work;
        after that a reroll takes a new seed. Raises :class:`UserError` when the user's limits
        refuse it (the reroll is then not claimed, so they can try again later).
        """
        if parent.status is not JobStatus.DONE or parent.recipe.compare:
            return None  # a blind comparison is voted on; /compare again makes a new one
        self._check_accepting()
        request = self._new_take(parent.request)
        root = parent.recipe.candidate_of or parent.id
        served = parent.recipe.candidates > 1 and await self.candidates.unserved(root) > 0
        recipe = fresh_recipe(parent.recipe, request.seed)
        if served:
            recipe = dataclasses.replace(recipe, candidate_of=root)
        cost = self.queue.sizes.size(request, recipe, parent.variations).cost
        try:
            job = await self.jobs.create_reroll(
                parent,
                message_id=message_id,
                user_id=user.id,
                user_name=user.display_name,
                request=request,
                recipe=recipe,
                variations=parent.variations,
                kind=KIND_REROLL,
                cost=cost,
                admission=admission(self.limits, cost, queue_limits=not served),
            )
        except AdmissionRefused as refusal:
            raise UserError(str(refusal)) from None
        if job is None:
            return None
        if served:
            await self.scheduler.serve_now(job)
            log.info("job %d: next candidate of job %d for %s (%d)", job.id, root, user.display_name, user.id)
            return job
        await self._enqueue_with_channel_status(job, "🔁 Reroll", reply_to=message_id)
        log.info("job %d: reroll of job %d by %s (%d)", job.id, parent.id, user.display_name, user.id)
        return job

    async def _layered_parent(self, job_id: int) -> Job:
        parent = await self.jobs.get(job_id)
        if parent is None or not parent.recipe.layered or parent.status is not JobStatus.DONE:
            raise UserError("That scene can't be changed any more.")
        if not await self.stems.exists(parent.id):
            raise UserError("The layers of that scene are no longer stored, so it can't be changed.")
        return parent

    async def reroll_layer(self, interaction: discord.Interaction, job_id: int, index: int) -> Job:
        """Queue layer ``index`` of a scene with a new seed; the other layers keep their sound."""
        parent = await self._layered_parent(job_id)
        recipe = parent.recipe
        if not 0 <= index < len(recipe.layers):
            raise UserError(f"That scene has {len(recipe.layers)} layers; there is no layer {index + 1}.")
        requests = list(recipe.layer_requests)
        requests[index] = self._new_take(requests[index])
        recipe = dataclasses.replace(
            recipe,
            layer_requests=tuple(requests),
            source_job_id=parent.id,
            reroll_layer=index,
            candidate_of=None,
        )
        label = f"🎲 New take of layer {index + 1} ({shown(recipe.layers[index].text, PROMPT_IN_CONTENT)})"
        return await self.submit_component(
            interaction,
            parent.request,
            kind=KIND_LAYER,
            label=label,
            parent_job_id=parent.id,
            recipe=recipe,
            reply_to=parent.result_message_id,
        )

    async def remix(self, interaction: discord.Interaction, job_id: int, gains: list[float]) -> Job:
        """Post a scene again at new layer levels, from its stored stems (no GPU, no queue)."""
        parent = await self._layered_parent(job_id)
        recipe = parent.recipe
        try:
            layers = Mix.check_gains(recipe.layers, gains)
        except RequestError:
            raise  # shown (escaped) by the one error handler
        recipe = dataclasses.replace(
            recipe, layers=layers, source_job_id=parent.id, reroll_layer=None, candidate_of=None
        )
        job = await self._create(
            cost=0.0,
            remix=True,
            kind=KIND_REMIX,
            request=parent.request,
            recipe=recipe,
            parent_job_id=parent.id,
            reply_to_message_id=parent.result_message_id,
            **asked_by(interaction),
        )
        await self.scheduler.serve_now(job)
        log.info("job %d: remix of job %d at %s", job.id, parent.id, describe_layers(layers))
        return job

    async def reroll_stored(
        self,
        interaction: discord.Interaction,
        request: GenerationRequest,
        *,
        parent_job_id: int | None = None,
        made_by: str | None = None,
    ) -> Job:
        """Queue a new take (same request, new seed) of a stored soundscape for the clicking user.

        The take keeps how the original was made (loop, length, best-of-N, layers, each layer's
        model): from its job when known, else — for a gallery entry whose job is gone — from the
        scene's own text and ``made_by``, the models its row names.
        """
        take = self._new_take(request)
        parent = await self.jobs.get(parent_job_id) if parent_job_id is not None else None
        if parent is not None:
            recipe = fresh_recipe(parent.recipe, take.seed)
        elif is_layered(request.user_text) and self.catalog is not None:
            take, recipe = stored_scene_order(request, seed=take.seed, catalog=self.catalog, made_by=made_by)
        elif is_layered(request.user_text):
            take, recipe = build_order(request.user_text, duration=request.duration_s, seed=take.seed)
        else:
            recipe = PLAIN
        if self.catalog is not None:
            requests = recipe.layer_requests or (take,)
            for model in dict.fromkeys(r.model for r in requests if r.model):
                self.catalog.get(model)  # one no longer loaded is refused now, naming the loaded ones
        return await self.submit_component(
            interaction, take, kind=KIND_REROLL, parent_job_id=parent_job_id, label="🔁 Reroll", recipe=recipe
        )

    async def cancel(self, user_id: int, job_id: int | None) -> str:
        """Cancel the user's job (the latest queued one when ``job_id`` is None); returns the answer."""
        own = await self.jobs.active_for_user(user_id)
        if job_id is None:
            queued = [j for j in own if j.status is JobStatus.QUEUED]
            running = [j for j in own if j.status is JobStatus.RUNNING]
            target = queued[-1] if queued else (running[0] if running else None)
        else:
            target = next((j for j in own if j.id == job_id), None)
        if target is None:
            raise UserError(
                "You have no soundscape waiting to cancel."
                if job_id is None
                else f"Job #{job_id} is not one of your active jobs."
            )
        if target.status is JobStatus.QUEUED and await self.jobs.cancel(target.id, user_id):
            await self.queue.remove(target.id)
            cancelled = await self.jobs.get(target.id)
            if cancelled is not None:
                await self.answers.settle(cancelled)
            return f"Cancelled job #{target.id} (“{shown(target.request.user_text, PROMPT_IN_CONTENT)}”)."
        if target.status is JobStatus.RUNNING and self.scheduler.request_stop(target.id):
            return (
                f"Stopping job #{target.id} (“{shown(target.request.user_text, PROMPT_IN_CONTENT)}”) "
                "after the current step."
            )
        raise UserError(f"Job #{target.id} is already being delivered and can't be cancelled.")
