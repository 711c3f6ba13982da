"""Layered scenes: every layer rendered and mixed, one layer re-rendered, or new levels only."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from generation.errors import GenerationError
from generation.recipes.clips import finish_mix
from generation.recipes.layer_requests import render_stems
from generation.recipes.layers import LayerSpec
from generation.recipes.mixing import Mix, mix_rate
from generation.recipes.order import Clip, RenderContext, Rendered
from generation.recipes.recipe import Recipe
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.backends.base import Backend


def mix_variations(requests: Sequence[GenerationRequest], count: int) -> list[list[GenerationRequest]]:
    """The layer requests of ``count`` mixes: variation ``v`` shifts every seed by ``v × layers``,
    so no two renders share a seed."""
    return [
        [r.with_seed((r.seed + v * len(requests)) % (MAX_SEED + 1)) for r in requests] for v in range(count)
    ]


async def _finished(ctx: RenderContext, mix: Mix, recipe: Recipe, model: str) -> Clip:
    return await ctx.offload(finish_mix, mix, ctx.finish_settings, model, recipe.loop)


def create_mix(
    layers: Sequence[LayerSpec],
    requests: Sequence[GenerationRequest],
    waveforms: Sequence[np.ndarray],
    sample_rates: Sequence[int],
) -> Mix:
    """The mix of layers rendered at ``sample_rates`` (one per layer), at the highest of them
    (CPU work: resampling, loudness)."""
    return Mix.create(layers, requests, waveforms, mix_rate(sample_rates), sample_rates=sample_rates)


def replace_layer(mix: Mix, index: int, waveform: np.ndarray, request: GenerationRequest, rate: int) -> Mix:
    """``mix`` with layer ``index`` re-rendered at ``rate`` (CPU work)."""
    return mix.replace_layer(index, waveform, request, sample_rate=rate)


def _steps_per_call(requests: Sequence[GenerationRequest]) -> int:
    """Steps of every pipeline call ``requests`` need (one per batchable group)."""
    groups: dict[tuple[str | None, int, float, float, str], int] = {}
    for request in requests:
        groups.setdefault(request.batch_key(), request.steps)
    return sum(groups.values())


async def _render_stems(
    ctx: RenderContext, requests: Sequence[GenerationRequest], report: Callable[[int, int], None], total: int
) -> tuple[list[np.ndarray], list[int]]:
    """Every layer of one mix, each on its own model (one GPU turn per model), in layer order,
    with the sample rate of each."""
    by_model: dict[str | None, list[int]] = {}
    for index, request in enumerate(requests):
        by_model.setdefault(request.model, []).append(index)
    waveforms: list[np.ndarray] = [np.zeros(0, np.float32)] * len(requests)
    rates = [0] * len(requests)
    done = 0
    for model, indexes in by_model.items():
        gpu = ctx.require_gpu().model(model)
        subset = [requests[i] for i in indexes]

        def work(
            engine: Backend,
            progress: Callable[[int, int], None],
            subset: list[GenerationRequest] = subset,
            start: int = done,
        ) -> list[np.ndarray]:
            offset = start

            def generate(batch: Sequence[GenerationRequest]) -> list[np.ndarray]:
                nonlocal offset
                at = offset
                made = engine.generate(batch, progress=lambda step, _n: progress(at + step, total))
                offset += batch[0].steps
                return made

            return render_stems(subset, generate)

        stems = await gpu.run(work, on_progress=report, should_stop=ctx.should_stop)
        done += _steps_per_call(subset)
        for index, stem in zip(indexes, stems, strict=True):
            waveforms[index], rates[index] = stem, gpu.sample_rate
    return waveforms, rates


async def render_layers(ctx: RenderContext, recipe: Recipe, variations: int = 1) -> Rendered:
    """A layered scene: every layer rendered (batched where compatible, each on its own model),
    brought to one rate, normalised and mixed."""
    default = ctx.require_gpu().model_name
    per_mix = _steps_per_call(recipe.layer_requests)
    stage = f"{len(recipe.layers)} layers"
    started = time.perf_counter()
    posted: list[Clip] = []
    mix: Mix | None = None
    for index, requests in enumerate(mix_variations(recipe.layer_requests, variations)):
        report = ctx.step_callback(per_mix * variations, stage, offset=index * per_mix)
        waveforms, rates = await _render_stems(ctx, requests, report, per_mix)
        created = await ctx.offload(create_mix, recipe.layers, requests, waveforms, rates)
        mix = mix or created
        posted.append(await _finished(ctx, created, recipe, default))
    return Rendered(posted=posted, seconds=time.perf_counter() - started, mix=mix)


async def render_layer_reroll(ctx: RenderContext, recipe: Recipe, source: Mix) -> Rendered:
    """One layer of a stored scene re-rendered with its new seed (on its own model); the other
    stems are reused."""
    index = recipe.reroll_layer
    if index is None or not 0 <= index < len(source.layers):
        raise GenerationError(f"layer {index} does not exist in a scene of {len(source.layers)} layers")
    request = recipe.layer_requests[index]
    result = await ctx.gpu_for(request).generate(
        [request],
        on_progress=ctx.step_callback(request.steps, f"layer {index + 1} of {len(source.layers)}"),
        should_stop=ctx.should_stop,
    )
    mix = await ctx.offload(replace_layer, source, index, result.waveforms[0], request, result.sample_rate)
    clip = await _finished(ctx, mix, recipe, ctx.require_gpu().model_name)
    return Rendered(posted=[clip], seconds=result.seconds, mix=mix)


async def remix(ctx: RenderContext, recipe: Recipe, source: Mix, model: str) -> Rendered:
    """A stored scene at new levels: no GPU work, only mixing and finishing."""
    mix = source.remix(recipe.gains)
    return Rendered(posted=[await _finished(ctx, mix, recipe, model)], seconds=0.0, mix=mix)
