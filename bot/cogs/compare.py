"""``/compare``: blind A/B tests of two loaded models, votes with buttons, the reveal, the tally.

Discord does not let a command with subcommands take options itself, so the test is
``/compare models prompt:…`` and the tally ``/compare stats``. The post's buttons name only the
takes (``ambientgen:vote:<job>:A``), never the models; the storage keeps the models hidden until
the reveal (:mod:`bot.storage.compares`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.options import QUALITY_CHOICES, model_autocomplete, preset_autocomplete
from bot.errors import UserError, answering_errors, defer_private
from bot.storage import KIND_COMPARE, CompareState, Job, VotingClosed
from bot.ui.compare import VOTING_CLOSED, compare_embed, result_line, reveal_refusal, stats_embed, vote_answer
from bot.ui.components import NOT_THIS_RESULT, JobControl, client_bot
from generation.recipes.compare_order import build_compare
from generation.request import MAX_SEED

if TYPE_CHECKING:
    import re

    from bot.app import AmbientBot

log = logging.getLogger(__name__)

GONE = "This comparison is no longer stored."


class VoteButton(
    JobControl,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ambientgen:vote:(?P<job>\d+):(?P<side>[AB])",
):
    """A vote for take A or B: one per listener, changeable until the reveal."""

    def __init__(self, job_id: int, side: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Vote {side}",
                emoji="🅰️" if side == "A" else "🅱️",
                style=discord.ButtonStyle.primary,
                custom_id=f"ambientgen:vote:{job_id}:{side}",
            )
        )
        self.job_id = job_id
        self.side = side

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["job"]), match["side"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "compare vote"):
            await defer_private(interaction)
            bot = client_bot(interaction)
            job = await self._comparison(interaction)
            reveal_after = bot.config.compare.reveal_after_votes
            try:
                vote = await bot.compares.vote(
                    job.id, interaction.user.id, self.side, reveal_after=reveal_after
                )
            except VotingClosed:
                raise UserError(VOTING_CLOSED) from None
            except LookupError:
                raise UserError(GONE) from None
            await _show(interaction, job, vote.state, reveal_after)
            await interaction.followup.send(vote_answer(vote), ephemeral=True)
            if vote.revealed_now:
                log.info("job %d: comparison revealed after %d votes", job.id, vote.state.total)

    async def _comparison(self, interaction: discord.Interaction) -> Job:
        job = await self.result_job(interaction)  # this message's comparison, never another
        if not job.recipe.compare:
            raise UserError(NOT_THIS_RESULT)
        return job


class RevealButton(
    JobControl, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ambientgen:reveal:(?P<job>\d+)"
):
    """Reveals which model made which take: for the comparison's author (or the vote count)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Reveal",
                emoji="🔓",
                style=discord.ButtonStyle.secondary,
                custom_id=f"ambientgen:reveal:{job_id}",
            )
        )
        self.job_id = job_id

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "compare reveal"):
            await defer_private(interaction)
            bot = client_bot(interaction)
            job = await self.result_job(interaction)
            if not job.recipe.compare:
                raise UserError(NOT_THIS_RESULT)
            reveal_after = bot.config.compare.reveal_after_votes
            if interaction.user.id != job.user_id:
                raise UserError(reveal_refusal(reveal_after))
            try:
                state = await bot.compares.reveal(job.id)
            except LookupError:
                raise UserError(GONE) from None
            await _show(interaction, job, state, reveal_after)
            await interaction.followup.send(f"🔓 Revealed. {result_line(state)}", ephemeral=True)
            log.info("job %d: comparison revealed by its author", job.id)


def compare_view(job: Job, *, revealed: bool) -> discord.ui.View:
    """The controls under a comparison: votes and Reveal while blind; the gallery button always."""
    from bot.cogs.gallery import GalleryAddButton

    view = discord.ui.View(timeout=None)
    if not revealed:
        view.add_item(VoteButton(job.id, "A"))
        view.add_item(VoteButton(job.id, "B"))
        view.add_item(RevealButton(job.id))
    if job.guild_id is not None:  # galleries belong to servers
        view.add_item(GalleryAddButton(job.id))
    return view


async def _show(interaction: discord.Interaction, job: Job, state: CompareState, reveal_after: int) -> None:
    """The comparison's message with its current votes (and, once revealed, the models)."""
    if interaction.message is None:
        return
    await interaction.message.edit(
        embed=compare_embed(job, state, reveal_after=reveal_after),
        view=compare_view(job, revealed=state.revealed),
    )


class CompareCog(commands.GroupCog, group_name="compare"):
    """Blind A/B comparisons of two loaded models."""

    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="models")
    @app_commands.describe(
        prompt="What to hear, e.g. 'rain on a tin roof' (up to 300 characters)",
        model_a="One model (default: the first loaded)",
        model_b="The other model (default: the next loaded)",
        preset="A tuned soundscape style (default: matched from your words)",
        duration="Length in seconds, 2.5–30 (default: the preset's)",
        seed="Random seed, the same for both takes (0–4294967295)",
        quality="standard (best) or fast (about half the time)",
    )
    @app_commands.autocomplete(
        model_a=model_autocomplete, model_b=model_autocomplete, preset=preset_autocomplete
    )
    @app_commands.choices(quality=QUALITY_CHOICES)
    async def models(
        self,
        interaction: discord.Interaction,
        prompt: str,
        model_a: str | None = None,
        model_b: str | None = None,
        preset: str | None = None,
        duration: float | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        quality: str | None = None,
    ) -> None:
        """Render your words on two models and post them as takes A and B, blind, for a vote."""
        # Validated before the defer, so a bad model name is refused privately at once.
        request, recipe = build_compare(
            prompt,
            self.bot.catalog,
            model_a=model_a,
            model_b=model_b,
            preset=preset,
            duration=duration,
            seed=seed,
            quality=quality,
        )
        takes = len(recipe.compare)  # stored as the job's variations: takes A and B
        self.bot.service.check_size(request, recipe, takes)
        deferred = await interaction.response.defer(thinking=True)
        await self.bot.service.submit_command(
            interaction,
            request,
            takes,
            recipe=recipe,
            placeholder_id=deferred.message_id if deferred else None,
            kind=KIND_COMPARE,
        )

    @app_commands.command(name="stats")
    async def stats(self, interaction: discord.Interaction) -> None:
        """How often each model won this server's blind comparisons, by preset."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.guild_id is None:
            raise UserError("Comparisons are counted per server: use /compare stats in a server.")
        tallies = await self.bot.compares.tally(interaction.guild_id)
        place = interaction.guild.name if interaction.guild is not None else "this server"
        await interaction.followup.send(embed=stats_embed(place, tallies), ephemeral=True)


async def setup(bot: AmbientBot) -> None:
    bot.add_dynamic_items(VoteButton, RevealButton)
    await bot.add_cog(CompareCog(bot))
