"""``/status``: is the bot healthy, and how busy is it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.jobs.estimate import format_eta
from bot.ui.embeds import EMBED_COLOUR
from bot.ui.text import FIELD_VALUE_MAX, shown
from generation.settings import model_display_name

if TYPE_CHECKING:
    from bot.app import AmbientBot


class StatusCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot
        self.started = time.time()

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Show the model, the queue and how generation has been going."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = self.bot
        engine = bot.executor.engine
        stats = await bot.jobs.stats()
        average = stats.get("avg_gen_seconds")
        embed = discord.Embed(title="AmbientGen status", colour=EMBED_COLOUR)
        # Any backend's model: a local folder is shown by its own name, never its path.
        embed.add_field(name="Model", value=shown(model_display_name(engine.model_name), FIELD_VALUE_MAX))
        embed.add_field(name="Device", value=f"{engine.device} ({str(engine.dtype).removeprefix('torch.')})")
        embed.add_field(name="Queue", value=f"{len(bot.queue.running)} running · {len(bot.queue)} waiting")
        embed.add_field(name="Done", value=str(stats.get("done", 0)))
        embed.add_field(name="Failed", value=str(stats.get("failed", 0)))
        embed.add_field(name="Cancelled", value=str(stats.get("cancelled", 0)))
        embed.add_field(name="Average generation", value=f"{average:.1f} s" if average else "no jobs yet")
        embed.add_field(name="Event loop worst stall", value=f"{bot.monitor.worst_ms:.0f} ms")
        embed.add_field(name="Executor rebuilds", value=str(bot.executor.rebuilds))
        embed.add_field(
            name="Batch size", value=f"up to {bot.worker.batch_limit_for(10.0)} clips of 10 s per call"
        )
        embed.add_field(name="GPU idle while jobs waited", value=gap_summary(list(bot.worker.idle_gaps_ms)))
        embed.add_field(
            name="Prompt cache", value=f"{engine.prompts.hits} hits · {engine.prompts.misses} encodes"
        )
        embed.set_footer(text=f"Up for {format_eta(time.time() - self.started).removeprefix('about ')}")
        await interaction.followup.send(embed=embed, ephemeral=True)


def gap_summary(gaps_ms: list[float]) -> str:
    """E.g. "median 3 ms, worst 12 ms (40 gaps)", or that no job has waited yet."""
    if not gaps_ms:
        return "no job has waited yet"
    ordered = sorted(gaps_ms)
    median = ordered[len(ordered) // 2]
    return f"median {median:.0f} ms, worst {ordered[-1]:.0f} ms ({len(ordered)} gaps)"


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(StatusCog(bot))
