"""Layered scenes: every layer rendered and mixed, one layer re-rendered, or new levels only."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from generation.errors import GenerationError
from generation.recipes.clips import finish_mix
from generation.recipes.mixing import Mix, render_stems
from generation.recipes.order import Clip, RenderContext, Rendered
from generation.recipes.recipe import Recipe
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.backends.audioldm2.engine import AudioEngine


def mix_variations(requests: Sequence[GenerationRequest], count: int) -> list[list[GenerationRequest]]:
    """The layer requests of ``count`` mixes: variation ``v`` shifts every seed by ``v × layers``,
    so no two renders share a seed."""
    return [
        [r.with_seed((r.seed + v * len(requests)) % (MAX_SEED + 1)) for r in requests] for v in range(count)
    ]


async def _finished(ctx: RenderContext, mix: Mix, recipe: Recipe, model: str) -> Clip:
    return await ctx.offload(finish_mix, mix, ctx.finish_settings, model, recipe.loop)


async def render_layers(ctx: RenderContext, recipe: Recipe, variations: int = 1) -> Rendered:
    """A layered scene: every layer rendered (batched where compatible), normalised and mixed."""
    gpu = ctx.require_gpu()
    groups: dict[tuple[int, float, float, str], int] = {}
    for request in recipe.layer_requests:
        groups.setdefault(request.batch_key(), request.steps)
    per_mix = sum(groups.values())
    stage = f"{len(recipe.layers)} layers"
    started = time.perf_counter()
    posted: list[Clip] = []
    mix: Mix | None = None
    for index, requests in enumerate(mix_variations(recipe.layer_requests, variations)):

        def work(
            engine: AudioEngine, progress: Callable[[int, int], None], requests: list = requests
        ) -> list[np.ndarray]:
            done = 0

            def generate(batch: Sequence[GenerationRequest]) -> list[np.ndarray]:
                nonlocal done
                offset = done
                waveforms = engine.generate(batch, progress=lambda step, _n: progress(offset + step, per_mix))
                done += batch[0].steps
                return waveforms

            return render_stems(requests, generate)

        waveforms = await gpu.run(
            work,
            on_progress=ctx.step_callback(per_mix * variations, stage, offset=index * per_mix),
            should_stop=ctx.should_stop,
        )
        created = await ctx.offload(Mix.create, recipe.layers, requests, waveforms, gpu.sample_rate)
        mix = mix or created
        posted.append(await _finished(ctx, created, recipe, gpu.model_name))
    return Rendered(posted=posted, seconds=time.perf_counter() - started, mix=mix)


async def render_layer_reroll(ctx: RenderContext, recipe: Recipe, source: Mix) -> Rendered:
    """One layer of a stored scene re-rendered with its new seed; the other stems are reused."""
    gpu = ctx.require_gpu()
    index = recipe.reroll_layer
    if index is None or not 0 <= index < len(source.layers):
        raise GenerationError(f"layer {index} does not exist in a scene of {len(source.layers)} layers")
    request = recipe.layer_requests[index]
    result = await gpu.generate(
        [request],
        on_progress=ctx.step_callback(request.steps, f"layer {index + 1} of {len(source.layers)}"),
        should_stop=ctx.should_stop,
    )
    mix = await ctx.offload(source.replace_layer, index, result.waveforms[0], request)
    clip = await _finished(ctx, mix, recipe, gpu.model_name)
    return Rendered(posted=[clip], seconds=result.seconds, mix=mix)


async def remix(ctx: RenderContext, recipe: Recipe, source: Mix, model: str) -> Rendered:
    """A stored scene at new levels: no GPU work, only mixing and finishing."""
    mix = source.remix(recipe.gains)
    return Rendered(posted=[await _finished(ctx, mix, recipe, model)], seconds=0.0, mix=mix)
