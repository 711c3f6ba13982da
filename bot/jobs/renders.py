"""The ways a job's audio is made, from a recipe: plain clips, best-of-N, layers, long renders.

Each path does its GPU work through the executor (so the watchdog, cancellation and the
single GPU thread apply) and its CPU work — looping, mixing, finishing, MP3 encoding — in a
worker thread, and returns finished :class:`Clip` objects ready to be stored and posted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bot.jobs.estimate import generating_text
from generation.audio.finishing import FinishSettings, finish
from generation.audio.looping import loop_finish_settings, make_seamless_loop
from generation.audio.loudness import integrated_loudness
from generation.audio.mp3 import decode_mp3
from generation.audio.tags import Mp3Tags
from generation.errors import GenerationError, RequestError
from generation.executor import GpuExecutor
from generation.recipes.long_render import LongRenderWriter, plan_long_render
from generation.recipes.mixing import Mix, render_stems
from generation.recipes.recipe import Recipe
from generation.request import GenerationRequest

if TYPE_CHECKING:
    from generation.backends.audioldm2.engine import AudioEngine

#: Shows a status line to the job's user (throttled by the messenger).
StatusCallback = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class Clip:
    """One finished MP3 and the request that reproduces it."""

    request: GenerationRequest
    mp3: bytes
    lufs: float
    duration_s: float
    score: float | None = None
    """CLAP similarity to the prompt, for best-of-N candidates."""


@dataclass(frozen=True, eq=False)
class Rendered:
    """What a job produced: the clips to post, spare candidates, stems, and the GPU time."""

    posted: list[Clip]
    seconds: float
    spares: list[Clip] = field(default_factory=list)
    """Best-of-N candidates after the best, in rank order, kept for 🔁."""
    mix: Mix | None = None
    """The stems of a layered scene, kept for level changes and layer rerolls."""


@dataclass(frozen=True)
class RenderContext:
    """What every path needs besides the job."""

    executor: GpuExecutor
    finish_settings: FinishSettings
    model: str
    status: StatusCallback
    should_stop: Callable[[], bool]


def finish_clip(
    audio: np.ndarray,
    sample_rate: int,
    request: GenerationRequest,
    settings: FinishSettings,
    tags: Mp3Tags,
    *,
    loop: bool,
    score: float | None = None,
) -> Clip:
    """Loop (if asked), normalise and encode one waveform (CPU work: call it in a thread)."""
    if loop:
        audio = make_seamless_loop(audio, sample_rate)
        settings = loop_finish_settings(settings)
    done = finish(audio, sample_rate, settings, tags)
    return Clip(request, done.mp3, done.lufs, done.duration_s, score)


async def finish_waveforms(
    requests: Sequence[GenerationRequest],
    waveforms: Sequence[np.ndarray],
    sample_rate: int,
    settings: FinishSettings,
    model: str,
    *,
    loop: bool,
    scores: Sequence[float | None] | None = None,
) -> list[Clip]:
    """Finish clips (with their CLAP ``scores``, for candidates), one thread hop each, so other
    work interleaves."""
    clips = []
    for index, (request, wave) in enumerate(zip(requests, waveforms, strict=True)):
        tags = Mp3Tags.from_request(request, model)
        score = scores[index] if scores is not None else None
        clips.append(
            await asyncio.to_thread(
                finish_clip, wave, sample_rate, request, settings, tags, loop=loop, score=score
            )
        )
    return clips


def _stepper(ctx: RenderContext, stage: str | None, total: int) -> Callable[[int, int], None]:
    def on_progress(step: int, _steps: int) -> None:
        ctx.status(generating_text(step, total, stage))

    return on_progress


async def render_ranked(ctx: RenderContext, request: GenerationRequest, recipe: Recipe) -> Rendered:
    """Best-of-N: generate the candidates in one batch, rank them with CLAP, post the best."""
    started = time.perf_counter()
    ranked = await ctx.executor.run(
        lambda engine, progress: engine.generate_ranked(request, recipe.candidates, progress=progress),
        on_progress=_stepper(ctx, f"{recipe.candidates} candidates", request.steps),
        should_stop=ctx.should_stop,
    )
    seconds = time.perf_counter() - started
    clips = await finish_waveforms(
        [c.request for c in ranked.candidates],
        [c.audio for c in ranked.candidates],
        ctx.executor.engine.sample_rate,
        ctx.finish_settings,
        ctx.model,
        loop=recipe.loop,
        scores=[c.score for c in ranked.candidates],
    )
    return Rendered(posted=clips[:1], spares=clips[1:], seconds=seconds)


async def _finish_mix(ctx: RenderContext, mix: Mix, recipe: Recipe) -> Clip:
    def work() -> Clip:
        return finish_clip(
            mix.mixdown(),
            mix.sample_rate,
            mix.requests[0],
            ctx.finish_settings,
            mix.tags(ctx.model),
            loop=recipe.loop,
        )

    return await asyncio.to_thread(work)


async def render_layers(ctx: RenderContext, recipe: Recipe) -> Rendered:
    """A layered scene: every layer rendered (batched where compatible), normalised and mixed."""
    requests = list(recipe.layer_requests)
    groups: dict[tuple[int, float, float, str], int] = {}
    for request in requests:
        groups.setdefault(request.batch_key(), request.steps)
    total = sum(groups.values())
    started = time.perf_counter()

    def work(engine: AudioEngine, progress: Callable[[int, int], None]) -> list[np.ndarray]:
        done = 0

        def generate(batch: Sequence[GenerationRequest]) -> list[np.ndarray]:
            nonlocal done
            offset = done
            waveforms = engine.generate(batch, progress=lambda step, _total: progress(offset + step, total))
            done += batch[0].steps
            return waveforms

        return render_stems(requests, generate)

    waveforms = await ctx.executor.run(
        work,
        on_progress=_stepper(ctx, f"{len(requests)} layers", total),
        should_stop=ctx.should_stop,
    )
    seconds = time.perf_counter() - started
    mix = await asyncio.to_thread(
        Mix.create, recipe.layers, requests, waveforms, ctx.executor.engine.sample_rate
    )
    return Rendered(posted=[await _finish_mix(ctx, mix, recipe)], seconds=seconds, mix=mix)


async def render_layer_reroll(ctx: RenderContext, recipe: Recipe, source: Mix) -> Rendered:
    """One layer of a stored scene re-rendered with its new seed; the other stems are reused."""
    index = _layer_index(recipe, source)
    request = recipe.layer_requests[index]
    result = await ctx.executor.generate(
        [request],
        on_progress=_stepper(ctx, f"layer {index + 1} of {len(source.layers)}", request.steps),
        should_stop=ctx.should_stop,
    )
    mix = await asyncio.to_thread(source.replace_layer, index, result.waveforms[0], request)
    return Rendered(posted=[await _finish_mix(ctx, mix, recipe)], seconds=result.seconds, mix=mix)


def _layer_index(recipe: Recipe, source: Mix) -> int:
    index = recipe.reroll_layer
    if index is None or not 0 <= index < len(source.layers):
        raise GenerationError(f"layer {index} does not exist in a scene of {len(source.layers)} layers")
    return index


async def remix(ctx: RenderContext, recipe: Recipe, source: Mix) -> Rendered:
    """A stored scene at new levels: no GPU work, only mixing and finishing."""
    mix = source.remix(recipe.gains)
    return Rendered(posted=[await _finish_mix(ctx, mix, recipe)], seconds=0.0, mix=mix)


async def render_long(
    ctx: RenderContext, request: GenerationRequest, recipe: Recipe, max_bytes: int
) -> Rendered:
    """A long render: segments generated one by one and streamed into the MP3 as they come.

    Memory holds one segment at a time; the encoder writes to a temporary file. Between two
    segments the GPU is free for the queue's cancellation check, and the status shows
    "segment 3 of 12".
    """
    if recipe.length_s is None:
        raise RequestError("A long render needs a length.")
    plan = plan_long_render(request, recipe.length_s, loop=recipe.loop)
    engine = ctx.executor.engine
    output = io.BytesIO()
    writer = LongRenderWriter(
        plan,
        engine.sample_rate,
        output,
        settings=ctx.finish_settings,
        tags=Mp3Tags.from_request(request, ctx.model),
        max_bytes=max_bytes,
        spectrogram=False,
    )
    seconds = 0.0
    adding: asyncio.Future[None] | None = None
    with writer:
        try:
            for index, segment in enumerate(plan.segments):
                result = await ctx.executor.generate(
                    [segment],
                    on_progress=_stepper(ctx, f"segment {index + 1} of {plan.count}", segment.steps),
                    should_stop=ctx.should_stop,
                )
                seconds += result.seconds
                # Encode this segment while the GPU renders the next one (one add at a time:
                # the writer is not thread-safe).
                if adding is not None:
                    await adding
                adding = asyncio.ensure_future(asyncio.to_thread(writer.add, result.waveforms[0]))
            if adding is not None:
                await adding
        finally:
            # Never close the writer under a segment that is still being encoded.
            if adding is not None and not adding.done():
                await asyncio.gather(adding, return_exceptions=True)
        done = await asyncio.to_thread(writer.close)
    mp3 = output.getvalue()
    lufs = await asyncio.to_thread(_measured_lufs, mp3)
    stored = dataclasses.replace(request, duration_s=plan.segment_s)
    return Rendered(posted=[Clip(stored, mp3, lufs, done.duration_s)], seconds=seconds)


def _measured_lufs(mp3: bytes) -> float:
    samples, sample_rate = decode_mp3(mp3)
    return integrated_loudness(samples, sample_rate)
