"""The Tweak form of a history card: the stored request pre-filled, and what a submission becomes.

Every pre-filled value fits its input's ``max_length`` by construction (Discord refuses the
whole form otherwise), and a submission is validated like ``/ambient``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.errors import UserError
from bot.ui.text import clip
from generation.prompting import build_request
from generation.recipes.layers import is_layered
from generation.recipes.recipe import Recipe, build_order
from generation.request import MAX_SCENE_CHARS, GenerationRequest

if TYPE_CHECKING:
    from bot.storage import HistoryEntry

TWEAK_FORM = re.compile(r"ambientgen:hist:tweaked:(?P<gen>\d+)")


def tweak_form(entry: HistoryEntry) -> discord.ui.Modal:
    """The form pre-filled with a stored request; every default fits its input by construction."""
    request = entry.generation.request
    modal = discord.ui.Modal(
        title="Tweak this soundscape", custom_id=f"ambientgen:hist:tweaked:{entry.generation.id}"
    )
    fields = (
        ("prompt", "Prompt", request.user_text, discord.TextStyle.paragraph, True, MAX_SCENE_CHARS),
        (
            "duration",
            "Duration (seconds, 2.5–30)",
            f"{request.duration_s:g}",
            discord.TextStyle.short,
            True,
            20,
        ),
        ("guidance", "Guidance (1–15)", f"{request.guidance:g}", discord.TextStyle.short, True, 20),
        ("seed", "Seed (empty: a random one)", str(request.seed), discord.TextStyle.short, False, 20),
    )
    for custom_id, label, default, style, required, longest in fields:
        modal.add_item(
            discord.ui.Label(
                text=label,
                component=discord.ui.TextInput(
                    custom_id=custom_id,
                    # A scene stored before the whole text had a limit may be longer than the input.
                    default=clip(default, longest),
                    style=style,
                    required=required,
                    max_length=longest,
                ),
            )
        )
    # The submission is answered by HistoryCog.on_tweak_submitted (also after a restart), so
    # discord.py must not keep this modal object waiting for it.
    modal.stop()
    return modal


def tweaked_request(original: GenerationRequest, values: dict[str, str]) -> GenerationRequest:
    """The request the tweak form describes; raises ``UserError``/``RequestError`` when invalid.

    An unchanged prompt keeps the original preset, negative prompt and steps; a new prompt is
    matched to a preset afresh, as ``/ambient`` would.
    """
    prompt = values.get("prompt", "")
    same_prompt = prompt.strip() == original.user_text
    return build_request(
        prompt,
        preset=original.preset if same_prompt else None,
        raw=original.raw,
        duration=_number(values, "duration", "Duration"),
        guidance=_number(values, "guidance", "Guidance"),
        seed=_seed(values),
        negative=original.negative_prompt if same_prompt else None,
        steps=original.steps if same_prompt else None,
        scheduler=original.scheduler,
    )


def tweaked_order(
    original: GenerationRequest, values: dict[str, str], *, loop: bool = False
) -> tuple[GenerationRequest, Recipe]:
    """The request and recipe the tweak form describes: a prompt with "+" is a layered scene,
    as in ``/ambient``; a loop stays a loop."""
    prompt = values.get("prompt", "")
    if is_layered(prompt):
        return build_order(
            prompt,
            duration=_number(values, "duration", "Duration"),
            guidance=_number(values, "guidance", "Guidance"),
            seed=_seed(values),
            loop=loop,
        )
    return tweaked_request(original, values), Recipe(loop=loop)


def _number(values: dict[str, str], key: str, name: str) -> float:
    text = values.get(key, "").strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise UserError(f"**{name}** must be a number; you typed {text[:20]!r}.") from None


def _seed(values: dict[str, str]) -> int | None:
    text = values.get("seed", "").strip()
    if not text:
        return None
    if not text.isdecimal():
        raise UserError(
            f"**Seed** must be a whole number (or empty for a random one); you typed {text[:20]!r}."
        )
    return int(text)
