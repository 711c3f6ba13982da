"""Clips: plain takes (batched across jobs), best-of-N, and the finishing every path shares.

The GPU part of plain clips (:func:`generate_plain`) and their CPU part (:func:`finish_plain`)
are separate, so a caller can start the next batch on the GPU while the previous one is being
finished. CPU work goes through :attr:`RenderContext.offload`, one clip at a time, with
top-level functions and picklable arguments (it may run in another process).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from generation.audio.finishing import FinishSettings, finish
from generation.audio.looping import loop_finish_settings, make_seamless_loop
from generation.audio.tags import Mp3Tags
from generation.recipes.mixing import Mix
from generation.recipes.order import Clip, Offload, RenderContext, Rendered, RenderJob
from generation.recipes.recipe import Recipe
from generation.request import GenerationRequest


def finish_clip(
    audio: np.ndarray,
    sample_rate: int,
    request: GenerationRequest,
    settings: FinishSettings,
    tags: Mp3Tags,
    loop: bool,
    score: float | None = None,
) -> Clip:
    """Loop (if asked), normalise and encode one waveform (CPU work: run it off the loop)."""
    if loop:
        audio = make_seamless_loop(audio, sample_rate)
        settings = loop_finish_settings(settings)
    done = finish(audio, sample_rate, settings, tags)
    return Clip(request, done.mp3, done.lufs, done.duration_s, score, model=tags.model)


def finish_mix(mix: Mix, settings: FinishSettings, model: str, loop: bool) -> Clip:
    """A scene's mix finished like one clip, tagged with every layer and the model of each
    (``model`` for layers that name none) (CPU work)."""
    tags = mix.tags(mix.models(model))
    return finish_clip(mix.mixdown(), mix.sample_rate, mix.requests[0], settings, tags, loop)


async def finish_waveforms(
    requests: Sequence[GenerationRequest],
    waveforms: Sequence[np.ndarray],
    sample_rate: int,
    settings: FinishSettings,
    model: str,
    *,
    loop: bool,
    scores: Sequence[float | None] | None = None,
    offload: Offload,
) -> list[Clip]:
    """Finish clips (with their CLAP ``scores``, for candidates), one hop each, so other work
    interleaves."""
    clips = []
    for index, (request, wave) in enumerate(zip(requests, waveforms, strict=True)):
        tags = Mp3Tags.from_request(request, model)
        score = scores[index] if scores is not None else None
        clips.append(await offload(finish_clip, wave, sample_rate, request, settings, tags, loop, score))
    return clips


async def generate_plain(
    ctx: RenderContext, jobs: Sequence[RenderJob]
) -> tuple[list[list[np.ndarray]], float]:
    """The GPU part of plain clips of one or more jobs, in one pipeline call (they must share
    :meth:`GenerationRequest.batch_key`, the model included). Returns each job's waveforms and
    the GPU seconds."""
    gpu = ctx.gpu_for(jobs[0].request)
    groups = [job.plain_requests() for job in jobs]
    flat = [request for group in groups for request in group]
    result = await gpu.generate(
        flat, on_progress=ctx.step_callback(flat[0].steps), should_stop=ctx.should_stop
    )
    waveforms: list[list[np.ndarray]] = []
    offset = 0
    for group in groups:
        waveforms.append(result.waveforms[offset : offset + len(group)])
        offset += len(group)
    return waveforms, result.seconds


async def finish_plain(
    ctx: RenderContext, job: RenderJob, waveforms: Sequence[np.ndarray], seconds: float
) -> Rendered:
    """The CPU part of a plain job: loop (if asked), normalise and encode each take."""
    gpu = ctx.gpu_for(job.request)
    clips = await finish_waveforms(
        job.plain_requests(),
        waveforms,
        gpu.sample_rate,
        ctx.finish_settings,
        gpu.model_name,
        loop=job.recipe.loop,
        offload=ctx.offload,
    )
    return Rendered(posted=clips, seconds=seconds)


async def render_ranked(
    ctx: RenderContext, request: GenerationRequest, recipe: Recipe, keep: int = 1
) -> Rendered:
    """Best-of-N: generate the candidates in one batch, rank them with CLAP, post the best ``keep``."""
    gpu = ctx.gpu_for(request)
    started = time.perf_counter()
    ranked = await gpu.run(
        lambda engine, progress: engine.generate_ranked(request, recipe.candidates, progress=progress),
        on_progress=ctx.step_callback(request.steps, f"{recipe.candidates} candidates"),
        should_stop=ctx.should_stop,
    )
    seconds = time.perf_counter() - started
    clips = await finish_waveforms(
        [c.request for c in ranked.candidates],
        [c.audio for c in ranked.candidates],
        gpu.sample_rate,
        ctx.finish_settings,
        gpu.model_name,
        loop=recipe.loop,
        scores=[c.score for c in ranked.candidates],
        offload=ctx.offload,
    )
    return Rendered(posted=clips[:keep], spares=clips[keep:], seconds=seconds)
