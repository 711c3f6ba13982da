"""A finished clip as the studio shows it: its files on disk, the words sent, a line of facts.

CPU work (decoding, the spectrogram picture, artifact measures) runs off the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.studio.files import StudioFiles
from generation.audio.artifacts import Artifacts, measure
from generation.naming import mp3_filename
from generation.prompting import format_number
from generation.recipes.order import Clip
from generation.recipes.recipe import Recipe, format_length
from generation.request import GenerationRequest


@dataclass(frozen=True)
class Take:
    """One take of the session."""

    number: int
    mp3: Path
    picture: Path | None
    request: GenerationRequest
    words: str
    """What the model was sent: each request's prompt and negative prompt."""
    summary: str
    loops: bool
    model: str
    artifacts: Artifacts | None = None
    score: float | None = None


def words_sent(requests: list[GenerationRequest]) -> str:
    """The prompts and negative prompts the model saw, one block per request (layer)."""
    blocks = []
    for index, request in enumerate(requests):
        head = f"Layer {index + 1}: " if len(requests) > 1 else ""
        negative = request.negative_prompt or "(none)"
        blocks.append(f"{head}{request.prompt}\nNegative: {negative}")
    return "\n\n".join(blocks)


def requests_of(request: GenerationRequest, recipe: Recipe) -> list[GenerationRequest]:
    """The requests a recipe sends to the model (a scene's layers, else its one request)."""
    return list(recipe.layer_requests) or [request]


def summary(clip: Clip, recipe: Recipe) -> str:
    """ "seed 1234 · 10 s · -18.0 LUFS · tiny" (and the recipe's extras)."""
    parts = [f"seed {clip.request.seed}", format_length(clip.duration_s), f"{clip.lufs:.1f} LUFS"]
    parts += [f"{label.lower()} {value}" for label, value in recipe.describe() if label != "Length"]
    if clip.score is not None:
        parts.append(f"CLAP {format_number(round(clip.score, 3))}")
    if clip.model:
        parts.append(clip.model)
    return " · ".join(parts)


def _analyse(mp3: bytes, picture: bool) -> tuple[bytes | None, Artifacts]:
    from generation.audio.mp3 import decode_mp3
    from generation.audio.spectrogram import spectrogram_png

    samples, rate = decode_mp3(mp3)
    return (spectrogram_png(samples, rate) if picture else None), measure(samples, rate)


async def store_take(
    files: StudioFiles,
    number: int,
    clip: Clip,
    recipe: Recipe,
    words: str,
    *,
    picture: bool = True,
    name: str | None = None,
) -> Take:
    """Write ``clip`` (and its spectrogram) to ``files`` and describe it."""
    png, artifacts = await asyncio.to_thread(_analyse, clip.mp3, picture)
    mp3 = files.write(name or mp3_filename(clip.request.user_text, clip.request.seed), clip.mp3)
    image = files.write(mp3.stem + ".png", png) if png is not None else None
    return Take(
        number=number,
        mp3=mp3,
        picture=image,
        request=clip.request,
        words=words,
        summary=summary(clip, recipe),
        loops=recipe.loop,
        model=clip.model,
        artifacts=artifacts,
        score=clip.score,
    )
