"""``/presets``: the catalogue, and what each preset does on each loaded model.

The catalogue was tuned on AudioLDM2; other models change a preset's steps, guidance, negative
prompt or wording (:mod:`generation.craft`). The model view shows the settings a request for that
model really gets, read from :func:`generation.prompting.build_request` itself, so the texts can
never drift from what runs. Every embed goes through :func:`fit_embed`: within Discord's limits by
construction, however many models are loaded and however long their names.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.ui.embeds import EMBED_COLOUR
from bot.ui.text import DESCRIPTION_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX, TITLE_MAX, clip, escape, fit_embed
from generation.models import ModelCatalog, ModelChoice
from generation.presets import PRESETS, Preset
from generation.prompting import build_request, format_number
from generation.request import QUALITY_FAST

#: Stands for the user's words where a preset's wording is shown.
WORDS = "…"

#: Discord's 25 fields, all presets (the catalogue has fewer).
_MAX_PRESETS = 25


@dataclass(frozen=True, slots=True)
class PresetSettings:
    """What a request made with one preset gets on one model (the user giving nothing else)."""

    steps: int
    fast_steps: int
    guidance: float
    negative: str
    wording: str
    """The prompt around the user's words (:data:`WORDS`), the model's suffix included."""
    own_wording: bool
    """The preset has its own template for this model (not the catalogue's)."""

    @classmethod
    def of(cls, preset: Preset, model: ModelChoice | None) -> PresetSettings:
        """``preset`` on ``model`` (None: as the catalogue has it, for AudioLDM2)."""
        standard = build_request(WORDS, preset=preset.key, seed=0, model=model)
        fast = build_request(WORDS, preset=preset.key, seed=0, model=model, quality=QUALITY_FAST)
        own = model is not None and preset.tuned(model.craft).template is not None
        return cls(
            standard.steps, fast.steps, standard.guidance, standard.negative_prompt, standard.prompt, own
        )


def _differs(value: str, catalogue: str, differs: bool) -> str:
    return f"{value} (catalogue: {catalogue})" if differs else value


def settings_line(on_model: PresetSettings, catalogue: PresetSettings) -> str:
    """E.g. "100 steps (catalogue: 50) · fast 50 · guidance 7 (catalogue: 6)": every value, and
    the catalogue's beside each one this model changes."""
    steps = _differs(f"{on_model.steps} steps", str(catalogue.steps), on_model.steps != catalogue.steps)
    fast = _differs(
        f"fast {on_model.fast_steps}", str(catalogue.fast_steps), on_model.fast_steps != catalogue.fast_steps
    )
    guidance = _differs(
        f"guidance {format_number(on_model.guidance)}",
        format_number(catalogue.guidance),
        on_model.guidance != catalogue.guidance,
    )
    return " · ".join((steps, fast, guidance))


def preset_on_model(preset: Preset, model: ModelChoice) -> str:
    """One preset's field in the model view: what it is, its settings there, what it avoids and,
    where this model words it differently, its wording."""
    on_model, catalogue = PresetSettings.of(preset, model), PresetSettings.of(preset, None)
    lines = [preset.description, settings_line(on_model, catalogue)]
    if not on_model.negative:
        lines.append("Avoids: nothing (this model takes no negative prompt)")
    else:
        changed = " (its own)" if on_model.negative != catalogue.negative else ""
        lines.append(f"Avoids{changed}: {escape(on_model.negative)}")
    if on_model.own_wording:  # (the model's suffix alone is said once, in the description)
        lines.append(f"Worded its own way: {escape(on_model.wording)}")
    return clip("\n".join(lines), FIELD_VALUE_MAX)


def loaded_models(catalog: ModelCatalog) -> str:
    """One line per loaded model: its name, family, and what differs there (the default first)."""
    lines = []
    for index, choice in enumerate(catalog.choices):
        default = ", the default" if index == 0 else ""
        lines.append(f"**{escape(choice.name)}** ({choice.craft.title}{default}): {choice.craft.summary}")
    return "\n".join(lines)


def presets_embed(catalog: ModelCatalog) -> discord.Embed:
    """The catalogue with an example for each preset, naming the models loaded here."""
    several = len(catalog.choices) > 1
    hint = (
        "`/presets model:` shows any of them as tuned for one model."
        if several
        else "`/presets model:` shows the settings each preset gets on it."
    )
    embed = discord.Embed(
        title="Soundscape presets",
        description=clip(
            "Pick one with `/ambient preset:`, or describe the scene: it is matched by keywords.\n\n"
            f"**Models loaded here**\n{loaded_models(catalog)}\n\n{hint}",
            DESCRIPTION_MAX,
        ),
        colour=EMBED_COLOUR,
    )
    for preset in list(PRESETS.values())[:_MAX_PRESETS]:
        value = f"{preset.description}\n*e.g.* `/ambient {preset.example}`"
        tuned = [c.name for c in catalog.choices if preset.tuned(c.craft).template is not None]
        if tuned:
            value += f"\nWorded its own way on {', '.join(escape(name) for name in tuned)}"
        embed.add_field(
            name=clip(f"{preset.label} (`{preset.key}`)", FIELD_NAME_MAX),
            value=clip(value, FIELD_VALUE_MAX),
            inline=False,
        )
    return fit_embed(embed)


def model_presets_embed(model: ModelChoice) -> discord.Embed:
    """Every preset as tuned for ``model``: steps, guidance, negative prompt and wording, with the
    catalogue's value beside each one it changes."""
    craft = model.craft
    suffix = f" Every prompt ends with “{craft.suffix.removeprefix(', ')}”." if craft.suffix else ""
    embed = discord.Embed(
        title=clip(f"Presets on {escape(model.name)} ({craft.title})", TITLE_MAX),
        description=clip(
            f"{craft.summary}{suffix}\nThe values `/ambient` uses with this model and a preset when you "
            "give none; in brackets the catalogue's (tuned on AudioLDM2) where this model differs. "
            f"{WORDS} stands for your words.",
            DESCRIPTION_MAX,
        ),
        colour=EMBED_COLOUR,
    )
    for preset in list(PRESETS.values())[:_MAX_PRESETS]:
        embed.add_field(
            name=clip(f"{preset.label} (`{preset.key}`)", FIELD_NAME_MAX),
            value=preset_on_model(preset, model),
            inline=False,
        )
    return fit_embed(embed)
