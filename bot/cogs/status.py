"""``/status``: how busy the bot is and whether it works, in terms users can act on.

Everyone sees health and counts: jobs generating and waiting with a wait estimate, their own
jobs, the models on offer, whether voice playback works — never hosts, devices, URLs or worker
names. Members with Manage Server also get the operator's view (loops, rebuilds, event-loop
stalls, batch size, the executor's own lines, each model's device); the full picture is the
metrics endpoint and the log.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.ui.embeds import EMBED_COLOUR
from bot.ui.job_texts import format_eta, waiting_for_models_summary
from bot.ui.status import health_line, jobs_per_model, model_field, models_line, own_jobs_line, queue_line
from bot.ui.text import FIELD_VALUE_MAX, fit_embed, shown
from generation.prompting import warm_up_request
from generation.settings import model_display_name

if TYPE_CHECKING:
    from bot.app import AmbientBot

#: The voice cog's name (see :mod:`bot.cogs.voice`), looked up, not imported: voice is optional.
VOICE_COG = "VoiceCog"


class StatusCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot
        self.started = time.time()

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """How busy it is, your own jobs, the models on offer, and whether voice works."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        embeds = [await self.user_view(interaction.user.id)]
        # Manage Server: the operator's view of the same bot (internals, never secrets or hosts).
        if interaction.guild_id is not None and interaction.permissions.manage_guild:
            embeds.append(await self.operator_view())
        await interaction.followup.send(embeds=embeds, ephemeral=True)

    async def user_view(self, user_id: int) -> discord.Embed:
        bot = self.bot
        info = bot.executor.info()
        view = bot.queue.view()
        available = bot.executor.available()
        embed = discord.Embed(
            title="AmbientGen status",
            description=health_line(info.state, available),
            colour=EMBED_COLOUR,
        )
        busy = queue_line(len(view.running), len(view.waiting), view.new_wait_s, available=available)
        embed.add_field(name="Queue", value=busy, inline=False)
        mine = [(job.request.user_text, None, None) for job in view.running if job.user_id == user_id]
        mine += [
            (w.job.request.user_text, w.position, w.eta_s) for w in view.waiting if w.job.user_id == user_id
        ]
        embed.add_field(name="Your jobs", value=own_jobs_line(mine), inline=False)
        default = bot.catalog.default.name
        running = jobs_per_model(bot.queue.running, default)
        waiting = jobs_per_model(bot.queue.ordered(), default)
        models = [
            (model_display_name(name), index == 0, running[name], waiting[name])
            for index, name in enumerate(info.models)
        ]
        embed.add_field(name="Models", value=models_line(models), inline=False)
        embed.add_field(name="Voice", value=self._voice(), inline=False)
        stats = await bot.jobs.stats()
        embed.set_footer(
            text=f"{stats.get('done', 0)} done · {stats.get('failed', 0)} failed · up for "
            f"{format_eta(time.time() - self.started).removeprefix('about ')}"
        )
        return fit_embed(embed)

    def _voice(self) -> str:
        cog = self.bot.get_cog(VOICE_COG)
        support = getattr(getattr(cog, "players", None), "support", None)
        if support is None or not support.available:
            return "Not available on this bot."
        return "Works: `/play` here, or **Play in voice** under a result."

    async def operator_view(self) -> discord.Embed:
        """Internals for members with Manage Server: counts and states, never URLs or hosts."""
        bot = self.bot
        info = bot.executor.info()
        stats = await bot.jobs.stats()
        average = stats.get("avg_gen_seconds")
        embed = discord.Embed(title="Operator details", colour=EMBED_COLOUR)
        # A local model folder is shown by its own name, never its path.
        models = ", ".join(model_display_name(model) for model in info.models) or "none loaded"
        embed.add_field(name="Model", value=shown(models, FIELD_VALUE_MAX))
        embed.add_field(name="Device", value=shown(info.device, FIELD_VALUE_MAX))
        embed.add_field(name="GPU", value=f"{info.state} ({info.kind})")
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
            embed.add_field(name=name, value=shown(value, FIELD_VALUE_MAX))
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
        return fit_embed(embed)


def gap_summary(gaps_ms: list[float]) -> str:
    """E.g. "median 3 ms, worst 12 ms (40 gaps)", or that no job has waited yet."""
    if not gaps_ms:
        return "no job has waited yet"
    ordered = sorted(gaps_ms)
    median = ordered[len(ordered) // 2]
    return f"median {median:.0f} ms, worst {ordered[-1]:.0f} ms ({len(ordered)} gaps)"


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(StatusCog(bot))
