"""One render path: a job's finished audio from its request and recipe.

The bot's local executor, a remote GPU worker and ``ambientgen generate`` all call :func:`render`,
so a recipe and a seed give the same sound everywhere. Each path does its GPU work through a
:class:`~generation.recipes.order.Gpu` (the executor thread, with its watchdog and cancellation)
and its CPU work — looping, mixing, finishing, MP3 encoding — off the event loop, and returns
finished clips: plain data (MP3 bytes, numbers, requests), never Discord objects. The paths are in
:mod:`~generation.recipes.clips` (plain takes, best-of-N), :mod:`~generation.recipes.scenes`
(layers), :mod:`~generation.recipes.long_job` (long renders) and
:mod:`~generation.recipes.compare` (blind comparisons of two models).
"""

from __future__ import annotations

from generation.errors import GenerationError, RequestError
from generation.recipes.clips import finish_plain, generate_plain, render_ranked
from generation.recipes.compare import render_compare
from generation.recipes.long_job import render_long
from generation.recipes.order import RenderContext, Rendered, RenderJob
from generation.recipes.scenes import remix, render_layer_reroll, render_layers


async def render(ctx: RenderContext, job: RenderJob) -> Rendered:
    """Render ``job`` by its recipe: the entry point of every caller."""
    recipe = job.recipe
    if recipe.candidate_of is not None:
        raise GenerationError("a stored best-of-N candidate is served from storage, not rendered")
    if recipe.source_job_id is not None:
        if job.source is None:
            raise RequestError("The layers of that scene are no longer stored, so it can't be changed.")
        if recipe.reroll_layer is not None:
            return await render_layer_reroll(ctx, recipe, job.source)
        model = job.source_model or (ctx.gpu.model_name if ctx.gpu is not None else "unknown")
        return await remix(ctx, recipe, job.source, model)
    if recipe.compare:
        return await render_compare(ctx, recipe)
    if recipe.layered:
        return await render_layers(ctx, recipe, job.variations)
    if recipe.length_s is not None:
        return await render_long(ctx, job.request, recipe, job.max_bytes)
    if recipe.candidates > 1:
        return await render_ranked(ctx, job.request, recipe, job.variations)
    (waveforms,), seconds = await generate_plain(ctx, [job])
    return await finish_plain(ctx, job, waveforms, seconds)
