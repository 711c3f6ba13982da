"""The studio's forms into the render path's orders, with the bot's own validation and messages.

Blank fields mean what an omitted ``/ambient`` option means (the preset's value, a random seed);
a bad value raises :class:`~generation.errors.RequestError` with the message Discord shows.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from generation.errors import RequestError
from generation.recipes.order import RenderJob
from generation.recipes.recipe import Recipe, build_order

if TYPE_CHECKING:
    from generation.models import ModelCatalog
    from generation.request import GenerationRequest


def blank(value: object) -> bool:
    """An empty field: None, "", whitespace, or NaN (an emptied number box)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def optional(value: object) -> object | None:
    return None if blank(value) else value


def whole(name: str, value: object) -> int | None:
    """A whole number typed in a box (None when blank); raises :class:`RequestError`."""
    if blank(value):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except ValueError:
        raise RequestError(f"{name} must be a whole number; you typed '{str(value)[:40]}'.") from None
    if not math.isfinite(number) or number != int(number):
        raise RequestError(f"{name} must be a whole number; you typed '{str(value)[:40]}'.")
    return int(number)


def number(name: str, value: object) -> float | None:
    """A number typed in a box (None when blank); raises :class:`RequestError`."""
    if blank(value):
        return None
    try:
        result = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except ValueError:
        raise RequestError(f"{name} must be a number; you typed '{str(value)[:40]}'.") from None
    if not math.isfinite(result):
        raise RequestError(f"{name} must be a number; you typed '{str(value)[:40]}'.")
    return result


def with_steps(request: GenerationRequest, recipe: Recipe, steps: object) -> tuple[GenerationRequest, Recipe]:
    """``steps`` (blank: the preset's) applied to the request and every layer; validated as the
    CLI's ``--steps``."""
    count = whole("Steps", steps)
    if count is None:
        return request, recipe
    from generation.prompting import build_request

    build_request("x", steps=count)  # the bounds and their message
    layers = tuple(dataclasses.replace(r, steps=count) for r in recipe.layer_requests)
    return dataclasses.replace(request, steps=count), dataclasses.replace(recipe, layer_requests=layers)


def create_order(
    catalog: ModelCatalog,
    *,
    prompt: str,
    preset: str | None = None,
    model: str | None = None,
    duration: object = None,
    length: str | None = None,
    loop: bool = False,
    seed: object = None,
    guidance: object = None,
    steps: object = None,
    quality: str | None = None,
    negative: str | None = None,
    raw: bool = False,
    candidates: object = 1,
) -> RenderJob:
    """The **Create** form as one render job (see the module docstring)."""
    request, recipe = build_order(
        prompt or "",
        preset=optional(preset),  # type: ignore[arg-type]
        raw=bool(raw),
        duration=number("Duration", duration),
        seed=whole("Seed", seed),
        negative=optional(negative),  # type: ignore[arg-type]
        guidance=number("Guidance", guidance),
        quality=optional(quality),  # type: ignore[arg-type]
        loop=bool(loop),
        length=optional(length),  # type: ignore[arg-type]
        candidates=whole("Candidates", candidates) or 1,
        model=optional(model),  # type: ignore[arg-type]
        catalog=catalog,
    )
    request, recipe = with_steps(request, recipe, steps)
    return RenderJob(request, recipe)


def compare_order(
    catalog: ModelCatalog,
    *,
    prompt: str,
    model_a: str | None = None,
    model_b: str | None = None,
    preset: str | None = None,
    duration: object = None,
    seed: object = None,
    quality: str | None = None,
) -> RenderJob:
    """The **Compare** form as one blind comparison (``/compare``'s rules: random A/B order)."""
    from generation.recipes.compare_order import build_compare

    request, recipe = build_compare(
        prompt or "",
        catalog,
        model_a=optional(model_a),  # type: ignore[arg-type]
        model_b=optional(model_b),  # type: ignore[arg-type]
        preset=optional(preset),  # type: ignore[arg-type]
        duration=number("Duration", duration),
        seed=whole("Seed", seed),
        quality=optional(quality),  # type: ignore[arg-type]
    )
    return RenderJob(request, recipe)
