"""``/status``: is the bot healthy, and how busy is it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.ui.embeds import EMBED_COLOUR
from bot.ui.job_texts import format_eta, waiting_for_models_summary
from bot.ui.status import jobs_per_model, model_field
from bot.ui.text import FIELD_VALUE_MAX, fit_embed, shown
from generation.prompting import warm_up_request
from generation.settings import model_display_name

if TYPE_CHECKING:
    from bot.app import AmbientBot


class StatusCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot
        self.started = time.time()

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Show each model, the queue and how generation has been going."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = self.bot
        info = bot.executor.info()
        stats = await bot.jobs.stats()
        average = stats.get("avg_gen_seconds")
        embed = discord.Embed(title="AmbientGen status", colour=EMBED_COLOUR)
        # A local model folder is shown by its own name, never its path.
        models = ", ".join(model_display_name(model) for model in info.models) or "none loaded"
        embed.add_field(name="Model", value=shown(models, FIELD_VALUE_MAX))
        embed.add_field(name="Device", value=shown(info.device, FIELD_VALUE_MAX))
        embed.add_field(name="GPU", value=f"{info.state} ({info.kind})")
        embed.add_field(name="Queue", value=f"{len(bot.queue.running)} running · {len(bot.queue)} waiting")
        embed.add_field(name="Done", value=str(stats.get("done", 0)))
        embed.add_field(name="Failed", value=str(stats.get("failed", 0)))
        embed.add_field(name="Cancelled", value=str(stats.get("cancelled", 0)))
        embed.add_field(name="Average generation", value=f"{average:.1f} s" if average else "no jobs yet")
        embed.add_field(name="Event loop worst stall", value=f"{bot.monitor.worst_ms:.0f} ms")
        embed.add_field(name="Executor rebuilds", value=str(info.rebuilds))
        if bot.executor.available():
            embed.add_field(
                name="Batch size",
                value=f"up to {bot.executor.batch_limit(warm_up_request())} clips of 10 s per call",
            )
        embed.add_field(
            name="GPU idle while jobs waited", value=gap_summary(list(bot.scheduler.idle_gaps_ms))
        )
        for name, value in info.details.items():
            embed.add_field(name=name, value=value)
        blocked = bot.pipeline.queue_status.blocked()
        if blocked:
            embed.add_field(name="Waiting for a GPU worker", value=waiting_for_models_summary(blocked))
        for name, state in bot.pipeline.state().items():
            embed.add_field(name=name, value=state)
        # Last, each model in detail where the executor knows them (GPU workers: by name only).
        default = bot.catalog.default.name
        running = jobs_per_model(bot.queue.running, default)
        waiting = jobs_per_model(bot.queue.ordered(), default)
        for index, model in enumerate(info.loaded):
            name, value = model_field(
                model, default=index == 0, running=running[model.name], waiting=waiting[model.name]
            )
            embed.add_field(name=name, value=value, inline=False)
        embed.set_footer(text=f"Up for {format_eta(time.time() - self.started).removeprefix('about ')}")
        await interaction.followup.send(embed=fit_embed(embed), ephemeral=True)


def gap_summary(gaps_ms: list[float]) -> str:
    """E.g. "median 3 ms, worst 12 ms (40 gaps)", or that no job has waited yet."""
    if not gaps_ms:
        return "no job has waited yet"
    ordered = sorted(gaps_ms)
    median = ordered[len(ordered) // 2]
    return f"median {median:.0f} ms, worst {ordered[-1]:.0f} ms ({len(ordered)} gaps)"


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(StatusCog(bot))
