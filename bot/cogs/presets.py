"""``/presets``: the soundscape catalogue with an example for each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.ui.embeds import presets_embed

if TYPE_CHECKING:
    from bot.app import AmbientBot


class PresetsCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    @app_commands.command(name="presets")
    async def presets(self, interaction: discord.Interaction) -> None:
        """List the soundscape presets with an example prompt for each."""
        await interaction.response.send_message(embed=presets_embed(), ephemeral=True)


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(PresetsCog(bot))
