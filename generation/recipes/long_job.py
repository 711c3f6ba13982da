"""Long renders driven through the GPU: segments generated one by one, each encoded into the
MP3 while the next one renders (:mod:`generation.recipes.long_plan` plans them,
:mod:`generation.recipes.long_render` joins them)."""

from __future__ import annotations

import asyncio
import dataclasses
import io

from generation.audio.loudness import integrated_loudness
from generation.audio.mp3 import decode_mp3
from generation.audio.tags import Mp3Tags
from generation.errors import RequestError
from generation.recipes.long_plan import plan_long_render
from generation.recipes.long_render import LongRenderWriter
from generation.recipes.order import Clip, RenderContext, Rendered
from generation.recipes.recipe import Recipe
from generation.request import GenerationRequest


async def render_long(
    ctx: RenderContext, request: GenerationRequest, recipe: Recipe, max_bytes: int
) -> Rendered:
    """A long render: segments generated one by one and streamed into the MP3 as they come.

    Memory holds one segment at a time; the encoder writes to a temporary file. Each segment is
    encoded while the GPU renders the next one, and progress names the segment ("segment 3 of 12").
    The writer keeps state between segments, so it works in a thread of this process.
    """
    gpu = ctx.gpu_for(request)
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
        channels=gpu.channels,
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
    lufs = await ctx.offload(measured_lufs, mp3)
    stored = dataclasses.replace(request, duration_s=plan.segment_s)
    return Rendered(posted=[Clip(stored, mp3, lufs, done.duration_s, model=gpu.model_name)], seconds=seconds)


def measured_lufs(mp3: bytes) -> float:
    """The integrated loudness of an encoded file (CPU work)."""
    samples, sample_rate = decode_mp3(mp3)
    return integrated_loudness(samples, sample_rate)
