"""Command options several cogs share: autocomplete of presets, lengths and models, and quality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from generation.errors import RequestError
from generation.preset_matching import search_presets
from generation.recipes.recipe import format_length, parse_length
from generation.request import QUALITY_FAST, QUALITY_STANDARD

if TYPE_CHECKING:
    from bot.app import AmbientBot

#: The ``quality`` option's choices (``/ambient``, ``/compare models``).
QUALITY_CHOICES = [
    app_commands.Choice(name="standard — best sound", value=QUALITY_STANDARD),
    app_commands.Choice(name="fast — about twice as fast", value=QUALITY_FAST),
]


async def preset_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Presets whose name, key or keywords contain what was typed."""
    return [
        app_commands.Choice(name=f"{p.label} — {p.description}"[:100], value=p.key)
        for p in search_presets(current)
    ]


#: Lengths offered while typing ``length`` (anything from 2.5 s to 10 min may be typed).
LENGTH_SUGGESTIONS = ("1 min", "2 min", "3 min", "5 min", "10 min")


async def length_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """What was typed, read back ("2:30 → 2 min 30 s") when it parses, then the usual lengths."""
    choices: list[app_commands.Choice[str]] = []
    try:
        seconds = parse_length(current)
    except RequestError as refusal:
        choices.append(app_commands.Choice(name=str(refusal)[:100], value=current[:100]))
    else:
        if seconds is not None:
            choices.append(app_commands.Choice(name=format_length(seconds), value=current[:100]))
    choices += [app_commands.Choice(name=s, value=s) for s in LENGTH_SUGGESTIONS if s != current]
    return choices[:25]


async def model_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The loaded models whose name or family contains what was typed, the default first."""
    bot: AmbientBot = interaction.client  # type: ignore[assignment]
    return [
        app_commands.Choice(name=choice.describe()[:100], value=choice.name[:100])
        for choice in bot.catalog.search(current)
    ]
