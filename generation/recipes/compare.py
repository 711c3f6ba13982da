"""Blind comparisons: the same words, seed and duration rendered by two models, as takes A and B.

Nothing in the files may tell the models apart, so a listener judges by ear alone:

* both takes are brought to one format — the higher sample rate, stereo if either model is
  (libsoxr, as for mixed scenes) — so a 16 kHz mono model is not given away by its file;
* both are finished alike, loudness-matched to the same target (the louder of two takes
  tends to be heard as the better one), and encoded at one constant bitrate whatever
  ``FinishSettings.mp3_vbr`` says: an average-bitrate encoder spends less on the up-mixed mono take
  (its side channel is silent), so the two files' sizes would differ consistently;
* their tags name the take ("take A of a blind comparison"), never the model, and leave out the
  expanded prompt, steps and guidance, which differ per model;
* the models render in a fixed order (by name, not A then B) and progress counts the steps of
  both as one total, so neither the status message nor the timing hints which take is which.

A :class:`~generation.recipes.order.Clip` still records its real model, for the bot's storage
(shown once the comparison is revealed).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from generation.audio.finishing import FinishSettings
from generation.audio.resample import conform
from generation.audio.tags import Mp3Tags
from generation.recipes.clips import finish_clip
from generation.recipes.order import Clip, RenderContext, Rendered
from generation.recipes.recipe import Recipe
from generation.request import GenerationRequest

#: The takes, in the order of :attr:`Recipe.compare`.
SIDES = ("A", "B")
#: What the tags say instead of the model.
BLIND_MODEL = "blind comparison"
#: The progress stage of a comparison.
STAGE = "2 takes"


def blind_tags(request: GenerationRequest, side: str) -> Mp3Tags:
    """Tags that say which take a file is, and nothing about its model."""
    return Mp3Tags(
        prompt=request.user_text,
        seed=request.seed,
        model=BLIND_MODEL,
        title=f"{request.user_text} (take {side})",
        preset=request.preset,
    )


def finish_take(
    audio: np.ndarray,
    rate: int,
    to_rate: int,
    channels: int,
    request: GenerationRequest,
    settings: FinishSettings,
    side: str,
) -> Clip:
    """One take brought to the comparison's format, finished and tagged blind (CPU work), as CBR."""
    shaped = conform(audio, rate, to_rate, channels)
    cbr = dataclasses.replace(settings, mp3_vbr=False)
    return finish_clip(shaped, to_rate, request, cbr, blind_tags(request, side), loop=False)


async def render_compare(ctx: RenderContext, recipe: Recipe) -> Rendered:
    """Takes A and B of a comparison (see the module docstring), in A/B order."""
    requests = recipe.compare
    total = sum(request.steps for request in requests)
    waveforms: list[np.ndarray] = [np.zeros(0, np.float32)] * len(requests)
    rates = [0] * len(requests)
    channels = [1] * len(requests)
    models = [""] * len(requests)
    started = time.perf_counter()
    done = 0
    for index in sorted(range(len(requests)), key=lambda i: requests[i].model or ""):
        gpu = ctx.gpu_for(requests[index])
        result = await gpu.generate(
            [requests[index]],
            on_progress=ctx.step_callback(total, STAGE, offset=done),
            should_stop=ctx.should_stop,
        )
        done += requests[index].steps
        waveforms[index], rates[index], channels[index] = (
            result.waveforms[0],
            result.sample_rate,
            result.channels,
        )
        models[index] = gpu.model_name
    seconds = time.perf_counter() - started
    rate, layout = max(rates), max(channels)
    clips = []
    for index, side in enumerate(SIDES):
        take = await ctx.offload(
            finish_take,
            waveforms[index],
            rates[index],
            rate,
            layout,
            requests[index],
            ctx.finish_settings,
            side,
        )
        clips.append(dataclasses.replace(take, model=models[index]))
    return Rendered(posted=clips, seconds=seconds)
