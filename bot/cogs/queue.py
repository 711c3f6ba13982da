"""``/queue`` and ``/cancel``: what is waiting, and taking your own job back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import defer_private
from bot.jobs.visibility import Viewer, visible_queue
from bot.storage import JobStatus
from bot.ui.embeds import queue_embed
from bot.ui.text import OPTION_LABEL_MAX, plain

if TYPE_CHECKING:
    from bot.app import AmbientBot


class QueueCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    @app_commands.command(name="queue")
    async def queue(self, interaction: discord.Interaction) -> None:
        """Show what is generating and what waits, with positions and times."""
        view = self.bot.queue.view()
        waiting = [(place.job, place.eta_s) for place in view.waiting]
        # This server's jobs (and your own) in full; everything else only as a count.
        seen = visible_queue(list(view.running), waiting, Viewer(interaction.user.id, interaction.guild_id))
        await interaction.response.send_message(embed=queue_embed(seen), ephemeral=True)

    @app_commands.command(name="cancel")
    @app_commands.describe(job="Which of your jobs (default: your latest queued one)")
    async def cancel(self, interaction: discord.Interaction, job: int | None = None) -> None:
        """Cancel one of your queued soundscapes (a running one stops after its current step)."""
        await defer_private(interaction)
        answer = await self.bot.service.cancel(interaction.user.id, job)
        await interaction.followup.send(answer, ephemeral=True)

    @cancel.autocomplete("job")
    async def cancel_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        # Discord may send the typed part of an integer option as a number: compare text.
        current = str(current)
        jobs = await self.bot.jobs.active_for_user(interaction.user.id)
        choices = [
            app_commands.Choice(
                name=plain(f"#{j.id} {j.status.value}: {j.request.user_text}", OPTION_LABEL_MAX), value=j.id
            )
            for j in jobs
            if j.status in (JobStatus.QUEUED, JobStatus.RUNNING)
            and current in str(j.id) + j.request.user_text
        ]
        return choices[:25]


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(QueueCog(bot))
