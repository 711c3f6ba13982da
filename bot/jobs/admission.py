"""What a job costs the GPU, and the limits that decide whether it is accepted.

Cost is measured in *clips*: one 10-second clip at 50 denoising steps is 1. A job costs
``steps × seconds of audio denoised × waveforms / 500`` — the unit the time estimates use too —
so a ``length:10m loop:True`` render counts as the ~65 clips of GPU time it takes, not as "one
job". The seconds are what the model computes, not what was asked (:class:`JobSizes`): Stable
Audio Open denoises its whole 47.55 s window for a 2.5 s clip, so that clip costs its window,
and the limits mean the same GPU work on every model. The limits are checked by
:func:`admission` inside the transaction that inserts the job (see
:mod:`bot.storage.job_inserts`), so concurrent commands cannot slip past them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage import Admission, Job, Usage
from generation.models import ModelCatalog
from generation.recipes.long_plan import plan_long_render
from generation.recipes.recipe import Recipe
from generation.request import GenerationRequest

#: Work units (steps × seconds × waveforms) of one clip: 10 s at 50 steps.
UNITS_PER_CLIP = 50 * 10.0


@dataclass(frozen=True)
class JobSize:
    """The GPU work of a job: ``waveforms`` of ``seconds`` each, at ``steps`` steps."""

    steps: int
    seconds: float
    waveforms: int

    @property
    def units(self) -> float:
        return self.steps * self.seconds * self.waveforms

    @property
    def cost(self) -> float:
        """In clips (see the module docstring)."""
        return self.units / UNITS_PER_CLIP


#: Seconds of audio a request's model denoises for it (see :meth:`ModelCatalog.denoised_seconds`).
Denoised = Callable[[GenerationRequest], float]


def requested_seconds(request: GenerationRequest) -> float:
    """The asked length: the work of a model that denoises no more than the clip."""
    return request.duration_s


def job_size(
    request: GenerationRequest, recipe: Recipe, variations: int = 1, denoised: Denoised = requested_seconds
) -> JobSize:
    """The GPU work a request with this recipe needs (none for level changes and served candidates),
    each clip counted at the seconds its model denoises (``denoised``)."""
    if not recipe.needs_gpu:
        return JobSize(request.steps, 0.0, 0)
    if recipe.reroll_layer is not None:
        layer = recipe.layer_requests[recipe.reroll_layer]
        return JobSize(layer.steps, denoised(layer), 1)
    parts = recipe.layer_requests or recipe.compare
    if parts:
        # Layers (and a comparison's two takes) may differ in steps and length, each model having
        # its own; they are batched where they match.
        first = parts[0]
        seconds = sum(r.steps * denoised(r) for r in parts) / (first.steps * len(parts))
        # A comparison's two takes are its two variations (two rows, A and B), not two per take.
        clips = len(parts) if recipe.compare else len(parts) * variations
        return JobSize(first.steps, seconds, clips)
    if recipe.length_s is not None:
        plan = plan_long_render(request, recipe.length_s, loop=recipe.loop)
        return JobSize(request.steps, denoised(plan.segments[0]), plan.count)
    return JobSize(request.steps, denoised(request), variations * recipe.candidates)


@dataclass(frozen=True)
class JobSizes:
    """Sizes jobs by what their models compute: each request's model is looked up in ``catalog``
    (the configured models; pure data, so a bot whose GPUs are elsewhere prices jobs alike).
    Without a catalog, a clip counts its asked length."""

    catalog: ModelCatalog | None = None

    def denoised(self, request: GenerationRequest) -> float:
        if self.catalog is None:
            return request.duration_s
        return self.catalog.denoised_seconds(request)

    def size(self, request: GenerationRequest, recipe: Recipe, variations: int = 1) -> JobSize:
        return job_size(request, recipe, variations, self.denoised)

    def of(self, job: Job) -> JobSize:
        return self.size(job.request, job.recipe, job.variations)


@dataclass(frozen=True)
class Limits:
    """The ``[queue]`` limits admission applies."""

    max_pending_per_user: int
    max_queue: int
    cooldown_s: float
    max_job_cost: float
    """The largest single job, in clips."""
    max_user_cost: float
    """Clips one user may have queued and running at once."""
    remixes_per_hour: int


def too_big(cost: float, limits: Limits) -> str | None:
    """Why one job is too large on its own (checked before anything is queued), else None."""
    if cost <= limits.max_job_cost:
        return None
    return (
        f"That request is too big: it needs about {_clips(cost)} of GPU time and one request may use "
        f"up to {_clips(limits.max_job_cost)} (a 10-second clip is 1). Try a shorter length, fewer "
        "variations or candidates, or quality: fast."
    )


def admission(limits: Limits, cost: float, *, remix: bool = False, queue_limits: bool = True) -> Admission:
    """The check run inside the inserting transaction; ``queue_limits=False`` for jobs that never
    wait for the GPU (a served best-of-N candidate), which only the size and remix limits apply to."""

    def check(usage: Usage) -> str | None:
        refusal = too_big(cost, limits)
        if refusal is None and remix and usage.remixes_last_hour >= limits.remixes_per_hour:
            refusal = (
                f"You have changed levels {usage.remixes_last_hour} times in the last hour (the limit is "
                f"{limits.remixes_per_hour}). Please try again later."
            )
        if refusal is None and queue_limits:
            refusal = check_limits(
                user_pending=usage.user_pending,
                total_pending=usage.total_pending,
                seconds_since_last=usage.seconds_since_last,
                max_pending_per_user=limits.max_pending_per_user,
                max_queue=limits.max_queue,
                cooldown_s=limits.cooldown_s,
            )
        if refusal is None and usage.user_pending_cost + cost > limits.max_user_cost:
            refusal = (
                f"Your waiting soundscapes already need about {_clips(usage.user_pending_cost)} of GPU time "
                f"and this one {_clips(cost)}; together that is over your {_clips(limits.max_user_cost)}. "
                "Wait for one to finish or /cancel one."
            )
        return refusal

    return check


def _clips(cost: float) -> str:
    shown = max(1, math.ceil(cost - 1e-9)) if cost >= 0.5 else round(cost, 1)
    return f"{shown:g} clip" + ("" if shown == 1 else "s")


def check_limits(
    *,
    user_pending: int,
    total_pending: int,
    seconds_since_last: float | None,
    max_pending_per_user: int,
    max_queue: int,
    cooldown_s: float,
) -> str | None:
    """Why a new job from this user is refused right now, as a message for them; None if accepted.

    ``seconds_since_last`` is the time since the user's last accepted request (None: none yet).
    Checks go from the one the user can act on to the one that only needs a short wait: the
    user's own limit, then the full queue, then the cooldown (whose few seconds would be a false
    promise while the queue is full).
    """
    if user_pending >= max_pending_per_user:
        noun = "soundscape" if user_pending == 1 else "soundscapes"
        return (
            f"You already have {user_pending} {noun} in the queue (the limit is {max_pending_per_user}). "
            "Wait for one to finish or /cancel one."
        )
    if total_pending >= max_queue:
        noun = "job" if max_queue == 1 else "jobs"
        return f"The queue is full ({max_queue} {noun}). Please try again in a few minutes."
    if seconds_since_last is not None and cooldown_s > 0:
        # A negative elapsed time (clock trouble) waits the whole cooldown, never longer.
        remaining = min(cooldown_s, cooldown_s - seconds_since_last)
        if remaining > 0:
            # round() first so float noise (3.0000000001) does not add a second; never "0 s".
            seconds = max(1, math.ceil(round(remaining, 6)))
            return f"Slow down a little: you can queue again in {seconds} s."
    return None
