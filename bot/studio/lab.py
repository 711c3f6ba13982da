"""The prompt lab's plan: which variants of one prompt to render, and a saved take as a preset.

The seed's prompt framework made a tool: words (or a category's example), then every
combination of the chosen variants — quality phrases on/off (the preset's template, or the
words untouched), the negative prompt on/off, guidance values, step values — each rendered with
the same few seeds, so a row of the grid differs from another only by its variant.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generation.errors import RequestError
from generation.presets import Preset
from generation.recipes.order import RenderJob
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.models import ModelCatalog

#: Most takes one grid may render (rows × seeds).
MAX_TAKES = 16
#: Most seeds per variant.
MAX_SEEDS = 4
ON, OFF = "on", "off"


@dataclass(frozen=True)
class Variant:
    """One row of the grid."""

    quality: bool
    """The preset's template with its quality phrases (False: the words untouched)."""
    negative: bool
    guidance: float | None
    steps: int | None

    def label(self) -> str:
        parts = [f"quality {'on' if self.quality else 'off'}", f"negative {'on' if self.negative else 'off'}"]
        if self.guidance is not None:
            parts.append(f"guidance {self.guidance:g}")
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        return ", ".join(parts)


def parse_values(text: str | None, name: str, whole: bool = False) -> list[float | None]:
    """ "3, 6.5" → [3.0, 6.5]; blank → [None] (the preset's value). Raises :class:`RequestError`."""
    parts = [p for p in re.split(r"[,\s;]+", text or "") if p]
    if not parts:
        return [None]
    values: list[float | None] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise RequestError(f"{name}: '{part[:20]}' is not a number; write values like 3, 6.5") from None
        if whole and value != int(value):
            raise RequestError(f"{name}: '{part[:20]}' must be a whole number.")
        values.append(int(value) if whole else value)
    return list(dict.fromkeys(values))


def switches(chosen: list[str] | None, name: str) -> list[bool]:
    picked = [c for c in (ON, OFF) if c in (chosen or [])]
    if not picked:
        raise RequestError(f"{name}: tick on, off or both.")
    return [c == ON for c in picked]


def plan_grid(
    *,
    quality: list[str] | None,
    negative: list[str] | None,
    guidance: str | None,
    steps: str | None,
    seeds: object,
) -> tuple[list[Variant], int]:
    """The grid's rows and its number of seeds; raises :class:`RequestError` for a bad form."""
    try:
        count = int(seeds)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise RequestError(f"Seeds must be a number from 1 to {MAX_SEEDS}.") from None
    if not 1 <= count <= MAX_SEEDS:
        raise RequestError(f"Seeds must be from 1 to {MAX_SEEDS}; you asked for {count}.")
    rows = [
        Variant(q, n, g, None if s is None else int(s))
        for q, n, g, s in itertools.product(
            switches(quality, "Quality phrases"),
            switches(negative, "Negative prompt"),
            parse_values(guidance, "Guidance values"),
            parse_values(steps, "Step values", whole=True),
        )
    ]
    if len(rows) * count > MAX_TAKES:
        raise RequestError(
            f"That grid is {len(rows)} variants × {count} seeds = {len(rows) * count} takes; "
            f"the lab renders up to {MAX_TAKES} at a time."
        )
    return rows, count


def lab_words(words: str | None, category: str | None) -> tuple[str, str | None]:
    """The words to render and the preset: typed words, or the category's example."""
    from generation.preset_matching import get_preset

    preset = get_preset(category).key if category and category.strip() else None
    text = (words or "").strip()
    if not text:
        if preset is None:
            raise RequestError("Type some words or pick a category.")
        text = get_preset(preset).example or get_preset(preset).label
    return text, preset


def row_job(
    catalog: ModelCatalog,
    variant: Variant,
    *,
    words: str,
    preset: str | None,
    model: str | None,
    duration: float | None,
    seed: int,
    seeds: int,
) -> RenderJob:
    """One row: ``seeds`` plain takes (seeds ``seed``…) of the variant, through the render path."""
    from generation.prompting import build_request

    request = build_request(
        words,
        preset=preset,
        raw=not variant.quality,
        duration=duration,
        steps=variant.steps,
        guidance=variant.guidance,
        seed=seed,
        negative=None if variant.negative else "",
        model=catalog.get(model),
    )
    return RenderJob(request, variations=seeds)


def seed_of(seed: int, index: int) -> int:
    return (seed + index) % (MAX_SEED + 1)


def preset_from_take(name: str, request: GenerationRequest, catalog: ModelCatalog) -> Preset:
    """The settings of a take as a preset named ``name``: its template is the prompt sent with
    the words replaced by ``{text}``; negative prompt, guidance, steps and duration as rendered."""
    from generation.preset_file import preset_key

    key = preset_key(name)
    if not key:
        raise RequestError("Give the preset a name (letters or digits).")
    core = request.user_text.rstrip(".,;:!? ") or request.user_text
    prompt = request.prompt
    suffix = catalog.get(request.model).craft.suffix if request.model else ""
    if suffix and prompt.endswith(suffix):
        prompt = prompt[: -len(suffix)]  # the model adds its own again
    template = prompt.replace(core, "{text}", 1) if core in prompt else "{text}"
    if template.replace("{text}", "").count("{") or template.count("}") > 1:
        raise RequestError("That take's words contain braces, which a preset template can't hold.")
    return Preset(
        key=key,
        label=name.strip()[:80],
        keywords=(),
        template=template,
        negative_prompt=request.negative_prompt,
        guidance=request.guidance,
        steps=request.steps,
        duration_s=request.duration_s,
        example=request.user_text,
        description=f"Saved from the studio's prompt lab ({request.model or 'default model'}).",
    )


def reseeded(request: GenerationRequest, index: int) -> GenerationRequest:
    return dataclasses.replace(request, seed=seed_of(request.seed, index))
