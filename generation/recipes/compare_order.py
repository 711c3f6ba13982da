"""The order of a blind comparison: one prompt, one seed, one duration, two models, A/B shuffled.

Pure logic (no torch): what ``/compare`` validates before anything is queued. The takes are
rendered by :mod:`generation.recipes.compare`.
"""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING

from generation.recipes.recipe import Recipe
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.models import ModelCatalog


def build_compare(
    text: str,
    catalog: ModelCatalog,
    *,
    model_a: str | None = None,
    model_b: str | None = None,
    preset: str | None = None,
    duration: float | None = None,
    seed: int | None = None,
    quality: str | None = None,
    rng: random.Random | None = None,
) -> tuple[GenerationRequest, Recipe]:
    """Validate a comparison into its job request and recipe; raises :class:`RequestError`.

    Both takes share the words, preset, seed and duration; each model keeps its own prompt craft
    (steps, guidance, negative prompt), as it would for ``/ambient``. The two models are put in
    random order, so take A is either one. The returned request names no model: it stands for the
    whole comparison (the job row must not say which take is which).
    """
    from generation.prompting import build_request

    rng = rng or random.SystemRandom()
    first, second = catalog.pair(model_a, model_b)
    seed = rng.randint(0, MAX_SEED) if seed is None else seed
    takes = [
        build_request(text, preset=preset, duration=duration, seed=seed, quality=quality, model=choice)
        for choice in (first, second)
    ]
    # A preset's length is the same for every model; an explicit one is too. Equal anyway, so a
    # listener can't tell the takes apart by their length.
    takes[1] = dataclasses.replace(takes[1], duration_s=takes[0].duration_s)
    rng.shuffle(takes)
    blind = dataclasses.replace(takes[0], model=None)
    return blind, Recipe(compare=tuple(takes))
