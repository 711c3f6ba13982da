"""**Details** under a result: everything the compact card leaves out, shown privately."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.errors import answering_errors
from bot.ui.components import JobControl, client_bot
from bot.ui.embeds import details_embed

if TYPE_CHECKING:
    from bot.app import AmbientBot


class DetailsButton(
    JobControl, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ambientgen:details:(?P<job>\d+)"
):
    """Persistent (the job id is in the custom id): it answers after restarts too."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Details",
                emoji="ℹ️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"ambientgen:details:{job_id}",
            )
        )
        self.job_id = job_id

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "details button"):
            job = await self.result_job(interaction)  # this message's job, never another
            stored = await client_bot(interaction).generations.for_job(job.id)
            embed = details_embed(
                job,
                [g.seed for g in stored],
                model=stored[0].model if stored else "",
                gen_seconds=job.gen_seconds or 0.0,
                durations=[g.duration_s for g in stored],
            )
            # Only database reads: answered at once, privately, for whoever asked.
            await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: AmbientBot) -> None:
    bot.add_dynamic_items(DetailsButton)
