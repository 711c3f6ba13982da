"""``/ambient``: describe a soundscape, get it queued at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.options import QUALITY_CHOICES, length_autocomplete, model_autocomplete, preset_autocomplete
from generation.recipes.recipe import build_order
from generation.request import MAX_SEED

if TYPE_CHECKING:
    from bot.app import AmbientBot


class AmbientCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    @app_commands.command(name="ambient")
    @app_commands.describe(
        prompt="What to hear, e.g. 'rain with crickets' (up to 300 characters)",
        preset="A tuned soundscape style (default: matched from your words)",
        duration="Length in seconds, 2.5–30 (default: the preset's, usually 10)",
        seed="Random seed to reproduce a result (0–4294967295)",
        negative="What to avoid (default: music, voices, low quality, distorted)",
        guidance="How closely to follow the prompt, 1–15 (5–7.5 sounds best)",
        variations="How many takes to generate at once, 1–4",
        raw="Send your words to the model exactly as typed, without prompt craft",
        loop="Make it loop seamlessly: the end flows back into the start",
        length="A long soundscape up to 10 minutes, e.g. 3m, 90s or 2:30 (instead of duration)",
        candidates="Generate 1–4 takes and post the one that best matches your words; 🔁 shows the next",
        quality="standard (best) or fast (about half the time, a little less detail)",
        model="Which loaded model renders it (default: the first one; see /status)",
    )
    @app_commands.autocomplete(
        preset=preset_autocomplete, length=length_autocomplete, model=model_autocomplete
    )
    @app_commands.choices(quality=QUALITY_CHOICES)
    async def ambient(
        self,
        interaction: discord.Interaction,
        prompt: str,
        preset: str | None = None,
        duration: float | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        negative: str | None = None,
        guidance: float | None = None,
        variations: app_commands.Range[int, 1, 4] = 1,
        raw: bool = False,
        loop: bool = False,
        length: str | None = None,
        candidates: app_commands.Range[int, 1, 4] = 1,
        quality: str | None = None,
        model: str | None = None,
    ) -> None:
        """Generate an ambient soundscape; join layers with +, e.g. rain:0.8 + crickets:0.4."""
        # Validation is pure and instant: a bad request is refused before anything is deferred.
        request, recipe = build_order(
            prompt,
            preset=preset,
            raw=raw,
            duration=duration,
            seed=seed,
            negative=negative,
            guidance=guidance,
            quality=quality,
            loop=loop,
            length=length,
            candidates=candidates,
            model=model,
            catalog=self.bot.catalog,
        )
        self.bot.service.check_size(request, recipe, variations)  # too big: refused before the defer
        deferred = await interaction.response.defer(thinking=True)
        await self.bot.service.submit_command(
            interaction,
            request,
            variations,
            recipe=recipe,
            placeholder_id=deferred.message_id if deferred else None,
        )


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(AmbientCog(bot))
