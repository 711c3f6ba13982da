"""One render path: a job's finished audio from its request and recipe.

The bot's local executor, a remote GPU worker and ``ambientgen generate`` all call these
functions, so a recipe and a seed give the same sound everywhere. Each path does its GPU work
through a :class:`Gpu` (the executor thread, with its watchdog and cancellation) and its CPU work
— looping, mixing, finishing, MP3 encoding — in worker threads, and returns finished
:class:`Clip` objects: plain data (MP3 bytes, numbers, requests), never Discord objects.

Plain clips of several jobs may share one pipeline call: :func:`generate_plain` does the GPU part
of such a batch and :func:`finish_plain` the CPU part of each job, so a caller can start the next
batch on the GPU while the previous one is being finished.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from generation.audio.finishing import FinishSettings, finish
from generation.audio.looping import loop_finish_settings, make_seamless_loop
from generation.audio.loudness import integrated_loudness
from generation.audio.mp3 import decode_mp3
from generation.audio.tags import Mp3Tags
from generation.errors import GenerationError, RequestError
from generation.recipes.long_render import DISCORD_UPLOAD_LIMIT, LongRenderWriter, plan_long_render
from generation.recipes.mixing import Mix, render_stems
from generation.recipes.recipe import PLAIN, Recipe
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.backends.audioldm2.engine import AudioEngine
    from generation.executor import BatchResult

T = TypeVar("T")

#: Work for the GPU thread: gets the engine and a per-step callback (which may raise Cancelled).
EngineWork = Callable[["AudioEngine", Callable[[int, int], None]], T]


@dataclass(frozen=True)
class Progress:
    """Where a render stands: step ``step`` of ``total``, in ``stage`` ("segment 3 of 12")."""

    step: int
    total: int
    stage: str | None = None


ProgressSink = Callable[[Progress], None]
"""Receives progress on the caller's (event loop) thread."""


class Gpu(Protocol):
    """What a render needs from the GPU side (implemented by :class:`generation.executor.GpuExecutor`)."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> BatchResult: ...

    async def run(
        self,
        work: EngineWork[T],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> T: ...


@dataclass(frozen=True)
class RenderJob:
    """One job's audio order: plain data, so it can travel to a remote worker."""

    request: GenerationRequest
    recipe: Recipe = PLAIN
    variations: int = 1
    """Plain clips: takes with consecutive seeds; best-of-N: how many of the best are posted;
    layers: mixes, each with every layer's seed shifted by ``variation × layers``."""
    max_bytes: int = DISCORD_UPLOAD_LIMIT
    """Long renders: the MP3 must fit this many bytes (the bitrate is chosen for it)."""
    source: Mix | None = None
    """Layer rerolls and level changes: the stored scene whose other stems are reused."""
    source_model: str | None = None
    """Level changes: the model that made the stored stems (named in the MP3's tags)."""

    @property
    def needs_gpu(self) -> bool:
        return self.recipe.needs_gpu

    def plain_requests(self) -> list[GenerationRequest]:
        """A plain job's requests: one per variation, with consecutive seeds."""
        return [
            self.request.with_seed((self.request.seed + i) % (MAX_SEED + 1)) for i in range(self.variations)
        ]


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
    """Best-of-N candidates after the posted ones, in rank order, kept for 🔁."""
    mix: Mix | None = None
    """The stems of a layered scene, kept for level changes and layer rerolls."""


@dataclass(frozen=True)
class RenderContext:
    """What every path needs besides the job."""

    gpu: Gpu | None
    """None where no model is loaded: only jobs that need no GPU (level changes) can render."""
    finish_settings: FinishSettings
    progress: ProgressSink | None = None
    should_stop: Callable[[], bool] | None = None

    def step_callback(
        self, total: int, stage: str | None = None, offset: int = 0
    ) -> Callable[[int, int], None]:
        """An engine step callback that reports ``Progress(offset + step, total, stage)``."""

        def on_step(step: int, _steps: int) -> None:
            if self.progress is not None:
                self.progress(Progress(offset + step, total, stage))

        return on_step

    def require_gpu(self) -> Gpu:
        if self.gpu is None:
            raise GenerationError("this job needs the model, and none is loaded here")
        return self.gpu


# -- finishing (CPU, in threads) -------------------------------------------------------------------


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


async def _finish_mix(ctx: RenderContext, mix: Mix, recipe: Recipe, model: str) -> Clip:
    def work() -> Clip:
        return finish_clip(
            mix.mixdown(),
            mix.sample_rate,
            mix.requests[0],
            ctx.finish_settings,
            mix.tags(model),
            loop=recipe.loop,
        )

    return await asyncio.to_thread(work)


# -- the paths ----------------------------------------------------------------------------------------


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
    if recipe.layered:
        return await render_layers(ctx, recipe, job.variations)
    if recipe.length_s is not None:
        return await render_long(ctx, job.request, recipe, job.max_bytes)
    if recipe.candidates > 1:
        return await render_ranked(ctx, job.request, recipe, job.variations)
    (waveforms,), seconds = await generate_plain(ctx, [job])
    return await finish_plain(ctx, job, waveforms, seconds)


async def generate_plain(
    ctx: RenderContext, jobs: Sequence[RenderJob]
) -> tuple[list[list[np.ndarray]], float]:
    """The GPU part of plain clips of one or more jobs, in one pipeline call (they must share
    :meth:`GenerationRequest.batch_key`). Returns each job's waveforms and the GPU seconds."""
    gpu = ctx.require_gpu()
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
    gpu = ctx.require_gpu()
    clips = await finish_waveforms(
        job.plain_requests(),
        waveforms,
        gpu.sample_rate,
        ctx.finish_settings,
        gpu.model_name,
        loop=job.recipe.loop,
    )
    return Rendered(posted=clips, seconds=seconds)


async def render_ranked(
    ctx: RenderContext, request: GenerationRequest, recipe: Recipe, keep: int = 1
) -> Rendered:
    """Best-of-N: generate the candidates in one batch, rank them with CLAP, post the best ``keep``."""
    gpu = ctx.require_gpu()
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
    )
    return Rendered(posted=clips[:keep], spares=clips[keep:], seconds=seconds)


def _mix_variations(requests: Sequence[GenerationRequest], count: int) -> list[list[GenerationRequest]]:
    # Variation i shifts every layer's seed by i * layers, so no two renders share a seed.
    return [
        [r.with_seed((r.seed + v * len(requests)) % (MAX_SEED + 1)) for r in requests] for v in range(count)
    ]


async def render_layers(ctx: RenderContext, recipe: Recipe, variations: int = 1) -> Rendered:
    """A layered scene: every layer rendered (batched where compatible), normalised and mixed."""
    gpu = ctx.require_gpu()
    groups: dict[tuple[int, float, float, str], int] = {}
    for request in recipe.layer_requests:
        groups.setdefault(request.batch_key(), request.steps)
    per_mix = sum(groups.values())
    total = per_mix * variations
    stage = f"{len(recipe.layers)} layers"
    started = time.perf_counter()
    posted: list[Clip] = []
    mix: Mix | None = None
    for index, requests in enumerate(_mix_variations(recipe.layer_requests, variations)):

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
            on_progress=ctx.step_callback(total, stage, offset=index * per_mix),
            should_stop=ctx.should_stop,
        )
        created = await asyncio.to_thread(Mix.create, recipe.layers, requests, waveforms, gpu.sample_rate)
        mix = mix or created
        posted.append(await _finish_mix(ctx, created, recipe, gpu.model_name))
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
    mix = await asyncio.to_thread(source.replace_layer, index, result.waveforms[0], request)
    clip = await _finish_mix(ctx, mix, recipe, gpu.model_name)
    return Rendered(posted=[clip], seconds=result.seconds, mix=mix)


async def remix(ctx: RenderContext, recipe: Recipe, source: Mix, model: str) -> Rendered:
    """A stored scene at new levels: no GPU work, only mixing and finishing."""
    mix = source.remix(recipe.gains)
    return Rendered(posted=[await _finish_mix(ctx, mix, recipe, model)], seconds=0.0, mix=mix)


async def render_long(
    ctx: RenderContext, request: GenerationRequest, recipe: Recipe, max_bytes: int
) -> Rendered:
    """A long render: segments generated one by one and streamed into the MP3 as they come.

    Memory holds one segment at a time; the encoder writes to a temporary file. Each segment is
    encoded while the GPU renders the next one, and progress names the segment ("segment 3 of 12").
    """
    gpu = ctx.require_gpu()
    if recipe.length_s is None:
        raise RequestError("A long render needs a length.")
    plan = plan_long_render(request, recipe.length_s, loop=recipe.loop)
    output = io.BytesIO()
    writer = LongRenderWriter(
        plan,
        gpu.sample_rate,
        output,
        settings=ctx.finish_settings,
        tags=Mp3Tags.from_request(request, gpu.model_name),
        max_bytes=max_bytes,
        spectrogram=False,
    )
    seconds = 0.0
    adding: asyncio.Future[None] | None = None
    with writer:
        try:
            for index, segment in enumerate(plan.segments):
                result = await gpu.generate(
                    [segment],
                    on_progress=ctx.step_callback(segment.steps, f"segment {index + 1} of {plan.count}"),
                    should_stop=ctx.should_stop,
                )
                seconds += result.seconds
                # One add at a time: the writer is not thread-safe.
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
