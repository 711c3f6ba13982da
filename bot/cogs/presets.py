"""``/presets``: the soundscape catalogue, and what each preset does on each loaded model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.options import model_autocomplete
from bot.errors import defer_private
from bot.ui.presets import model_presets_embed, presets_embed

if TYPE_CHECKING:
    from bot.app import AmbientBot


class PresetsCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    @app_commands.command(name="presets")
    @app_commands.describe(
        model="Show the presets as tuned for this loaded model (default: the catalogue and the models)"
    )
    @app_commands.autocomplete(model=model_autocomplete)
    async def presets(self, interaction: discord.Interaction, model: str | None = None) -> None:
        """List the soundscape presets, with an example each and how each model renders them."""
        await defer_private(interaction)
        catalog = self.bot.catalog
        # An unknown name raises RequestError: shown privately, naming the loaded models.
        embed = presets_embed(catalog) if model is None else model_presets_embed(catalog.get(model))
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(PresetsCog(bot))
