"""Which queued jobs may share a GPU batch, what each adds to it, and the models it needs."""

from __future__ import annotations

from bot.storage import Job
from generation.recipes.order import RenderJob


def compatible(first: Job, other: Job) -> bool:
    """Plain clips of one model with equal steps, duration, guidance and scheduler share a
    pipeline call (the request's batch key names the model)."""
    return (
        first.recipe.batchable
        and other.recipe.batchable
        and first.request.batch_key() == other.request.batch_key()
    )


def clips(job: Job) -> int:
    """How many waveforms the job adds to a batch."""
    return job.variations


def models_of(job: Job) -> list[str | None]:
    """The models ``job`` renders with (None: the default model; none when it needs no GPU)."""
    if job.unreadable:
        return []
    return RenderJob(job.request, job.recipe, job.variations).models()
