"""``/history``: your own soundscapes — list, replay, reroll, tweak, add to the gallery, delete, export.

Everything here is private: answers are ephemeral, and every control checks that the person
clicking owns what it acts on (a custom id can be crafted, so it is never trusted). Controls are
``DynamicItem``s and the tweak form is answered by a listener, so they work after restarts.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.options import preset_autocomplete
from bot.errors import UserError, answering_errors, defer_private
from bot.library import EXPORT_FORMATS, export_history
from bot.storage import KIND_TWEAK, HistoryFilter
from bot.ui.components import (
    MAX_SEARCH,
    client_bot,
    custom_id_with_tail,
    listing_filters,
    submitted_values,
)
from bot.ui.embeds import GALLERY_EMOJI
from bot.ui.library import PAGE_SIZE, history_embed, history_entry_embed, history_options, place_in
from bot.ui.listing import Action, Screen
from bot.ui.text import PROMPT_IN_CONTENT, shown
from bot.ui.tweak import TWEAK_FORM, tweak_form, tweaked_order
from bot.voice.controls import PlayInVoiceButton
from generation.naming import mp3_filename

if TYPE_CHECKING:
    from bot.app import AmbientBot
    from bot.storage import HistoryEntry, Page

log = logging.getLogger(__name__)

NOT_YOUR_LIST = "These controls belong to someone else's history: use `/history list` for yours."
BOT_LEFT = "AmbientGen is no longer in the server this was made in, so it can't join its gallery."


@dataclass(frozen=True, slots=True)
class HistoryListing:
    """What one history message lists; all of it lives in its controls' custom ids."""

    owner: int
    preset: str | None = None
    search: str | None = None

    def filter(self) -> HistoryFilter:
        return HistoryFilter(self.owner, search=self.search, preset=self.preset)


# -- the actions on a history card -----------------------------------------------------------


async def _replay(interaction: discord.Interaction, generation_id: int) -> None:
    # The stored bytes from the data folder: no GPU work, and no Discord URL that may expire.
    entry, data = await client_bot(interaction).library.replay(interaction.user.id, generation_id)
    g = entry.generation
    await interaction.followup.send(
        f"▶️ **{shown(g.user_text, PROMPT_IN_CONTENT)}** (seed {g.seed})",
        file=discord.File(io.BytesIO(data), filename=mp3_filename(g.user_text, g.seed)),
        ephemeral=True,
    )


async def _reroll(interaction: discord.Interaction, generation_id: int) -> None:
    bot = client_bot(interaction)
    entry = await bot.library.own_revealed_entry(interaction.user.id, generation_id)
    job = await bot.service.reroll_stored(
        interaction,
        entry.generation.request,
        parent_job_id=entry.generation.job_id,
        made_by=entry.generation.model,
    )
    await interaction.followup.send(
        f"🔁 Queued a new take (job #{job.id}); it will be posted in this channel.", ephemeral=True
    )


async def _share(interaction: discord.Interaction, generation_id: int) -> None:
    user = interaction.user

    async def member_of(guild_id: int) -> bool:
        return await _is_member(interaction, guild_id)

    added = await client_bot(interaction).library.share(
        user.id, user.display_name, generation_id, member_of=member_of
    )
    answer = (
        f"{GALLERY_EMOJI} Added to the server's gallery as #{added.entry.id}: "
        f"anyone there can vote with {GALLERY_EMOJI}."
        if added.created
        else f"It is already in the server's gallery (#{added.entry.id})."
    )
    await interaction.followup.send(answer, ephemeral=True)


async def _is_member(interaction: discord.Interaction, guild_id: int) -> bool:
    """Whether the clicking user is (still) a member of ``guild_id``, asked of Discord."""
    if interaction.guild_id == guild_id:
        return True  # the click comes from inside that server
    guild = client_bot(interaction).get_guild(guild_id)
    if guild is None:
        raise UserError(BOT_LEFT)
    try:
        await guild.fetch_member(interaction.user.id)
    except discord.NotFound:
        return False
    return True


async def _ask_delete(interaction: discord.Interaction, generation_id: int) -> None:
    entry = await client_bot(interaction).library.own_entry(interaction.user.id, generation_id)
    note = " The gallery keeps its copy." if entry.in_gallery else ""
    view = discord.ui.View(timeout=None)
    view.add_item(HISTORY.button("erase", generation_id))
    await interaction.followup.send(
        f"Delete **{shown(entry.generation.user_text, PROMPT_IN_CONTENT)}** from your history, "
        f"with its file? This can't be undone.{note}",
        view=view,
        ephemeral=True,
    )


async def _erase(interaction: discord.Interaction, generation_id: int) -> None:
    entry = await client_bot(interaction).library.delete(interaction.user.id, generation_id)
    await interaction.followup.send(
        f"🗑️ Deleted **{shown(entry.generation.user_text, PROMPT_IN_CONTENT)}** from your history.",
        ephemeral=True,
    )


async def _open_tweak(interaction: discord.Interaction, generation_id: int) -> None:
    # A modal must be the first answer, so this one lookup happens before any defer (it is fast).
    entry = await client_bot(interaction).library.own_revealed_entry(interaction.user.id, generation_id)
    await interaction.response.send_modal(tweak_form(entry))


class HistoryScreen(Screen[HistoryListing]):
    """The caller's own soundscapes, newest first; only the owner may use its controls."""

    key = "hist"
    nav_template = (
        r"ambientgen:hist:(?P<dir>prev|next):(?P<owner>\d+):(?P<page>\d+)"
        r":(?P<preset>[a-z0-9-]*):(?P<search>.*)"
    )
    pick_template = r"ambientgen:hist:pick:(?P<owner>\d+)"
    actions: ClassVar[dict[str, Action]] = {
        "replay": Action("Replay", "▶️", discord.ButtonStyle.primary, _replay),
        "reroll": Action("Reroll", "🔁", discord.ButtonStyle.secondary, _reroll),
        "tweak": Action("Tweak", "✏️", discord.ButtonStyle.secondary, _open_tweak, answer="self"),
        "share": Action("Add to gallery", GALLERY_EMOJI, discord.ButtonStyle.secondary, _share),
        "delete": Action("Delete", "🗑️", discord.ButtonStyle.danger, _ask_delete),
        "erase": Action("Delete for good", "🗑️", discord.ButtonStyle.danger, _erase),
    }

    def nav_id(self, listing: HistoryListing, direction: str, page: int) -> str:
        prefix = f"ambientgen:hist:{direction}:{listing.owner}:{page}:{listing.preset or ''}:"
        return custom_id_with_tail(prefix, listing.search or "")

    def from_nav(self, match: re.Match[str]) -> tuple[HistoryListing, int]:
        listing = HistoryListing(int(match["owner"]), match["preset"] or None, match["search"] or None)
        return listing, int(match["page"])

    def pick_id(self, listing: HistoryListing) -> str:
        return f"ambientgen:hist:pick:{listing.owner}"

    def from_pick(self, match: re.Match[str]) -> HistoryListing:
        return HistoryListing(int(match["owner"]))

    def check(self, interaction: discord.Interaction, listing: HistoryListing) -> None:
        if interaction.user.id != listing.owner:
            raise UserError(NOT_YOUR_LIST)

    async def page(
        self, interaction: discord.Interaction, listing: HistoryListing, number: int
    ) -> Page[HistoryEntry]:
        return await client_bot(interaction).library.history.page(listing.filter(), number, PAGE_SIZE)

    def embed(
        self, interaction: discord.Interaction, listing: HistoryListing, page: Page[Any]
    ) -> discord.Embed:
        place = place_in(client_bot(interaction))
        return history_embed(page, search=listing.search, preset=listing.preset, place=place)

    def options(self, page: Page[Any]) -> list[discord.SelectOption]:
        return history_options(page)

    async def card(self, interaction: discord.Interaction, row_id: int) -> tuple[discord.Embed, Any]:
        bot = client_bot(interaction)
        entry = await bot.library.own_entry(interaction.user.id, row_id)
        return history_entry_embed(entry, place_in(bot)), entry

    def card_actions(self, interaction: discord.Interaction, row: Any) -> list[str]:
        return ["replay", "reroll", "tweak", "share", "delete"]

    def card_view(self, interaction: discord.Interaction, row_id: int, row: Any) -> discord.ui.View:
        view = super().card_view(interaction, row_id, row)
        view.add_item(PlayInVoiceButton("gen", row_id))  # the voice cog's own persistent button
        return view


HISTORY = HistoryScreen()


class HistoryCog(commands.GroupCog, group_name="history", group_description="Your own soundscapes"):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list")
    @app_commands.describe(
        search="Only soundscapes whose prompt contains this text",
        preset="Only soundscapes of this preset",
    )
    @app_commands.autocomplete(preset=preset_autocomplete)
    async def list_history(
        self,
        interaction: discord.Interaction,
        search: app_commands.Range[str, 1, MAX_SEARCH] | None = None,
        preset: str | None = None,
    ) -> None:
        """Your soundscapes, newest first: replay, reroll, tweak, share or delete them."""
        search, preset = listing_filters(search, preset)
        await HISTORY.show(interaction, HistoryListing(interaction.user.id, preset=preset, search=search))

    @app_commands.command(name="export")
    @app_commands.rename(fmt="format")
    @app_commands.describe(fmt="JSON (complete, for programs) or CSV (for spreadsheets)")
    @app_commands.choices(fmt=[app_commands.Choice(name=f.upper(), value=f) for f in EXPORT_FORMATS])
    async def export(self, interaction: discord.Interaction, fmt: str = "json") -> None:
        """Get a file with your whole history (only you can see it)."""
        await defer_private(interaction)
        entries = await self.bot.library.history.export(interaction.user.id)
        if not entries:
            raise UserError("Your history is empty: nothing to export yet.")
        data = export_history(entries, fmt)
        if len(data) > interaction.filesize_limit:
            raise UserError("Your history is too large for one file here; try the CSV format.")
        await interaction.followup.send(
            f"📦 Your history: {len(entries)} soundscape{'s' if len(entries) != 1 else ''}.",
            file=discord.File(io.BytesIO(data), filename=f"ambientgen-history.{fmt}"),
            ephemeral=True,
        )
        log.info("history of user %d exported (%d entries, %s)", interaction.user.id, len(entries), fmt)

    @commands.Cog.listener("on_interaction")
    async def on_tweak_submitted(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        match = TWEAK_FORM.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return
        async with answering_errors(interaction, "history tweak"):
            await defer_private(interaction)
            entry = await self.bot.library.own_revealed_entry(interaction.user.id, int(match["gen"]))
            original = await self.bot.jobs.get(entry.generation.job_id)
            loop = original is not None and original.recipe.loop
            request, recipe = tweaked_order(
                entry.generation.request, submitted_values(interaction), loop=loop
            )
            job = await self.bot.service.submit_component(
                interaction,
                request,
                kind=KIND_TWEAK,
                label="✏️ Tweak",
                parent_job_id=entry.generation.job_id,
                recipe=recipe,
            )
            await interaction.followup.send(
                f"✏️ Queued your tweak (job #{job.id}); it will be posted in this channel.", ephemeral=True
            )

    @commands.Cog.listener("on_interaction")
    async def on_user_seen(self, interaction: discord.Interaction) -> None:
        """Keep ``users`` current: who they are and when they last used the bot."""
        if interaction.type is discord.InteractionType.autocomplete:
            return  # one keystroke is not a visit
        user = interaction.user
        await self.bot.known_users.seen(user.id, user.global_name or user.name)


async def setup(bot: AmbientBot) -> None:
    bot.add_dynamic_items(*HISTORY.items())
    await bot.add_cog(HistoryCog(bot))
