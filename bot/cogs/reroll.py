"""Rerolls: 🔁 on a result (or its button) queues the same request with a new seed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.errors import UserError, answering_errors, defer_private
from bot.ui.components import JobControl, client_bot
from bot.ui.embeds import REROLL_EMOJI

if TYPE_CHECKING:
    from bot.app import AmbientBot

log = logging.getLogger(__name__)


class RerollButton(
    JobControl, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ambientgen:reroll:(?P<job>\d+)"
):
    """A persistent button: it keeps working after restarts because its job id is in the custom id."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Reroll",
                emoji=REROLL_EMOJI,
                style=discord.ButtonStyle.secondary,
                custom_id=f"ambientgen:reroll:{job_id}",
            )
        )
        self.job_id = job_id

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "reroll button"):
            await defer_private(interaction)
            parent = await self.result_job(interaction)  # this message's job, never another
            assert interaction.message is not None  # result_job refuses clicks without one
            job = await client_bot(interaction).service.reroll(
                parent, message_id=interaction.message.id, user=interaction.user
            )
            answer = f"🔁 Queued your reroll (job #{job.id})." if job else "You already rerolled this one."
            await interaction.followup.send(answer, ephemeral=True)


def result_view(job_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id))
    return view


class RerollCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        if str(payload.emoji) != REROLL_EMOJI:
            return
        parent = await self.bot.jobs.by_result_message(payload.message_id)
        if parent is None:
            return  # not one of our results
        user = payload.member or await self.bot.fetch_user(payload.user_id)
        try:
            await self.bot.service.reroll(parent, message_id=payload.message_id, user=user)
        except UserError as refusal:
            # A reaction has no private reply: a short notice that cleans itself up.
            channel = self.bot.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
            try:
                await channel.send(
                    f"<@{user.id}> {refusal}",
                    delete_after=20,
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(user.id)]),
                )
            except discord.HTTPException:
                log.info("could not tell user %d why their reroll was refused", user.id)


async def setup(bot: AmbientBot) -> None:
    bot.add_dynamic_items(RerollButton)
    await bot.add_cog(RerollCog(bot))
