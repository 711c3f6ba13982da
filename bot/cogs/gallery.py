"""``/gallery``: each server's shared gallery — ⭐ to add and vote, browse, play, reroll, remove.

A gallery only ever shows its own server's entries: listings are scoped to the guild the
command runs in, and every control checks that its entry belongs to the clicker's guild.
"""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.ambient import preset_autocomplete
from bot.errors import UserError, answering_errors, defer_private
from bot.storage import GalleryEntry, GalleryFilter, GallerySort
from bot.ui.components import (
    MAX_SEARCH,
    ActionLook,
    action_button,
    client_bot,
    custom_id_with_tail,
    listing_filters,
    nav_buttons,
    paged_view,
    pick_select,
    selected_id,
)
from bot.ui.embeds import GALLERY_EMOJI
from bot.ui.library import (
    PAGE_SIZE,
    entry_numbers,
    escape,
    gallery_embed,
    gallery_entry_embed,
    gallery_options,
)
from bot.voice.controls import PlayInVoiceButton
from generation.naming import mp3_filename

if TYPE_CHECKING:
    from bot.app import AmbientBot

log = logging.getLogger(__name__)

#: ``/gallery top period:`` → how far back, in seconds (None: all time).
PERIODS: dict[str, float | None] = {
    "day": 86_400.0,
    "week": 7 * 86_400.0,
    "month": 30 * 86_400.0,
    "all": None,
}
_PERIOD_TITLES = {"day": "today", "week": "this week", "month": "this month", "all": "of all time"}


@dataclass(frozen=True, slots=True)
class GalleryListing:
    """What one gallery message lists; all of it lives in its controls' custom ids."""

    sort: GallerySort = GallerySort.TOP
    period: str = "all"
    preset: str | None = None
    search: str | None = None

    def filter(self, guild_id: int) -> GalleryFilter:
        span = PERIODS[self.period]
        since = None if span is None else time.time() - span
        return GalleryFilter(guild_id, self.sort, since=since, preset=self.preset, search=self.search)

    def title(self, guild_name: str) -> str:
        if self.sort is GallerySort.NEW:
            return f"{GALLERY_EMOJI} {guild_name} gallery — newest"
        return f"{GALLERY_EMOJI} {guild_name} gallery — top {_PERIOD_TITLES[self.period]}"

    def nav_id(self, direction: str, page: int) -> str:
        prefix = f"ambientgen:gal:{direction}:{self.sort.value}:{self.period}:{page}:{self.preset or ''}:"
        return custom_id_with_tail(prefix, self.search or "")


async def gallery_message(
    bot: AmbientBot, guild: discord.Guild | None, listing: GalleryListing, number: int
) -> tuple[discord.Embed, discord.ui.View]:
    if guild is None:
        raise UserError("The gallery belongs to a server: use it there.")
    page = await bot.library.gallery.page(listing.filter(guild.id), number, PAGE_SIZE)
    embed = gallery_embed(
        page, title=listing.title(escape(guild.name)), search=listing.search, preset=listing.preset
    )
    pick = GalleryPickSelect(gallery_options(page)) if page.items else None
    previous, following = (
        GalleryNavButton(listing, direction, target) for direction, target in nav_buttons(page)
    )
    return embed, paged_view(page, pick, previous, following)


class GalleryNavButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=(
        r"ambientgen:gal:(?P<dir>prev|next):(?P<sort>top|new):(?P<period>day|week|month|all):"
        r"(?P<page>\d+):(?P<preset>[a-z0-9-]*):(?P<search>.*)"
    ),
):
    """◀ / ▶ of a gallery page (always the clicker's current server)."""

    def __init__(self, listing: GalleryListing, direction: str, page: int) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="◀️" if direction == "prev" else "▶️",
                style=discord.ButtonStyle.secondary,
                custom_id=listing.nav_id(direction, page),
            )
        )
        self.listing = listing
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> GalleryNavButton:
        listing = GalleryListing(
            GallerySort(match["sort"]), match["period"], match["preset"] or None, match["search"] or None
        )
        return cls(listing, match["dir"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "gallery page"):
            await interaction.response.defer()
            embed, view = await gallery_message(
                client_bot(interaction), interaction.guild, self.listing, self.page
            )
            await interaction.edit_original_response(embed=embed, view=view)


class GalleryPickSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"ambientgen:gal:pick"):
    """Picks one gallery entry: its card comes back with play, reroll (and remove if allowed)."""

    def __init__(self, options: list[discord.SelectOption]) -> None:
        super().__init__(pick_select("ambientgen:gal:pick", options))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select[Any], match: re.Match[str], /
    ) -> GalleryPickSelect:
        return cls(item.options)

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "gallery pick"):
            await defer_private(interaction)
            entry = await client_bot(interaction).library.entry_here(
                interaction.guild_id, selected_id(self.item)
            )
            await interaction.followup.send(
                embed=gallery_entry_embed(entry), view=entry_view(entry, interaction), ephemeral=True
            )


def _may_remove(entry: GalleryEntry, interaction: discord.Interaction) -> bool:
    return entry.author_id == interaction.user.id or interaction.permissions.manage_messages


#: action → (label, emoji, style) of the buttons on a gallery card.
_ACTIONS: dict[str, ActionLook] = {
    "play": ("Play", "▶️", discord.ButtonStyle.primary),
    "reroll": ("Make my own take", "🔁", discord.ButtonStyle.secondary),
    "remove": ("Remove from gallery", "🗑️", discord.ButtonStyle.danger),
}


class GalleryActionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ambientgen:gal:(?P<action>play|reroll|remove):(?P<entry>\d+)",
):
    """One action on one entry of the clicker's server gallery."""

    def __init__(self, action: str, entry_id: int) -> None:
        super().__init__(action_button("ambientgen:gal", action, entry_id, _ACTIONS))
        self.action = action
        self.entry_id = entry_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> GalleryActionButton:
        return cls(match["action"], int(match["entry"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, f"gallery {self.action}"):
            if self.action == "play":
                # Public: the post with the file replaces this placeholder for everyone to hear.
                await interaction.response.defer(thinking=True)
            else:
                await defer_private(interaction)
            await _HANDLERS[self.action](interaction, self.entry_id)


def entry_view(entry: GalleryEntry, interaction: discord.Interaction) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(GalleryActionButton("play", entry.id))
    view.add_item(GalleryActionButton("reroll", entry.id))
    view.add_item(PlayInVoiceButton("gal", entry.id))
    if _may_remove(entry, interaction):
        view.add_item(GalleryActionButton("remove", entry.id))
    return view


async def _play(interaction: discord.Interaction, entry_id: int) -> None:
    bot = client_bot(interaction)
    # The stored bytes from the data folder, never the original attachment's (expiring) URL.
    entry, data = await bot.library.play(interaction.guild_id, entry_id)
    view = discord.ui.View(timeout=None)
    view.add_item(GalleryActionButton("reroll", entry.id))
    message = await interaction.followup.send(
        f"▶️ From the gallery, played by <@{interaction.user.id}>",
        embed=gallery_entry_embed(entry),
        file=discord.File(io.BytesIO(data), filename=mp3_filename(entry.user_text, entry.request.seed)),
        view=view,
        wait=True,
    )
    await bot.library.gallery.record_post(entry.id, message.id, message.channel.id)
    try:
        await message.add_reaction(GALLERY_EMOJI)  # one click to vote
    except discord.HTTPException as exc:
        log.info("could not add %s to gallery post %d: %s", GALLERY_EMOJI, message.id, exc)


async def _reroll(interaction: discord.Interaction, entry_id: int) -> None:
    bot = client_bot(interaction)
    entry = await bot.library.entry_here(interaction.guild_id, entry_id)
    job = await bot.service.reroll_stored(interaction, entry.request)
    await interaction.followup.send(
        f"🔁 Queued your own take of **{escape(entry.user_text)}** (job #{job.id}); it will be posted here.",
        ephemeral=True,
    )


async def _remove(interaction: discord.Interaction, entry_id: int) -> None:
    entry = await client_bot(interaction).library.remove(
        interaction.guild_id,
        entry_id,
        user_id=interaction.user.id,
        can_manage_messages=interaction.permissions.manage_messages,
    )
    await interaction.followup.send(
        f"🗑️ Removed **{escape(entry.user_text)}** (#{entry.id}) from the gallery.", ephemeral=True
    )


_HANDLERS = {"play": _play, "reroll": _reroll, "remove": _remove}


class GalleryAddButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ambientgen:gal:add:(?P<job>\d+)"
):
    """The *Add to gallery* button of a result: anyone in the server may use it (no vote, unlike ⭐)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Add to gallery",
                emoji=GALLERY_EMOJI,
                style=discord.ButtonStyle.secondary,
                custom_id=f"ambientgen:gal:add:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> GalleryAddButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "gallery add"):
            await defer_private(interaction)
            bot = client_bot(interaction)
            job = await bot.jobs.get(self.job_id)
            if job is None or job.guild_id is None or job.guild_id != interaction.guild_id:
                raise UserError("That result isn't from this server.")
            generations = await bot.generations.for_job(job.id)
            if not generations:
                raise UserError("Its author deleted this soundscape, so it can't join the gallery.")
            user = interaction.user
            added = await bot.library.add_results(
                interaction.guild_id,
                [g.id for g in generations],
                user_id=user.id,
                user_name=user.display_name,
            )
            new = [a.entry for a in added if a.created]
            answer = (
                f"{GALLERY_EMOJI} Added to this server's gallery ({entry_numbers(new)}). "
                f"React {GALLERY_EMOJI} on the result to vote for it."
                if new
                else f"It is already in this server's gallery ({entry_numbers([a.entry for a in added])})."
            )
            await interaction.followup.send(answer, ephemeral=True)


@app_commands.guild_only()
class GalleryCog(
    commands.GroupCog, group_name="gallery", group_description="This server's shared soundscapes"
):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="browse")
    @app_commands.describe(
        sort="Most votes first, or newest first",
        preset="Only soundscapes of this preset",
        search="Only soundscapes whose prompt contains this text",
    )
    @app_commands.choices(
        sort=[
            app_commands.Choice(name="Top (most votes)", value=GallerySort.TOP.value),
            app_commands.Choice(name="Newest", value=GallerySort.NEW.value),
        ]
    )
    @app_commands.autocomplete(preset=preset_autocomplete)
    async def browse(
        self,
        interaction: discord.Interaction,
        sort: str = GallerySort.TOP.value,
        preset: str | None = None,
        search: app_commands.Range[str, 1, MAX_SEARCH] | None = None,
    ) -> None:
        """Browse this server's gallery: play, reroll or remove its soundscapes."""
        search, preset = listing_filters(search, preset)
        listing = GalleryListing(GallerySort(sort), "all", preset=preset, search=search)
        await self._show(interaction, listing)

    @app_commands.command(name="top")
    @app_commands.describe(period="Soundscapes added in the last day, week, month, or ever")
    @app_commands.choices(
        period=[app_commands.Choice(name=name.capitalize(), value=name) for name in PERIODS],
    )
    async def top(self, interaction: discord.Interaction, period: str = "week") -> None:
        """The most voted soundscapes of this server's gallery for a period."""
        await self._show(interaction, GalleryListing(GallerySort.TOP, period))

    async def _show(self, interaction: discord.Interaction, listing: GalleryListing) -> None:
        await defer_private(interaction)
        embed, view = await gallery_message(self.bot, interaction.guild, listing, 0)
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    # -- ⭐ reactions: add to the gallery and vote ----------------------------------------

    def _is_star(self, payload: discord.RawReactionActionEvent) -> bool:
        if payload.guild_id is None:
            return False  # DMs have no gallery
        if self.bot.user is None or payload.user_id == self.bot.user.id:
            return False
        return str(payload.emoji) == GALLERY_EMOJI

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if not self._is_star(payload):
            return
        assert payload.guild_id is not None
        name = payload.member.display_name if payload.member else str(payload.user_id)
        result = await self.bot.library.gallery.star(
            payload.guild_id, payload.message_id, user_id=payload.user_id, user_name=name
        )
        if result.changed_votes:
            log.info(
                "user %d starred message %d (%d entries)", payload.user_id, payload.message_id, result.entries
            )

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if not self._is_star(payload):
            return
        assert payload.guild_id is not None
        result = await self.bot.library.gallery.unstar(
            payload.guild_id, payload.message_id, user_id=payload.user_id
        )
        if result.changed_votes:
            log.info("user %d unstarred message %d", payload.user_id, payload.message_id)


async def setup(bot: AmbientBot) -> None:
    bot.add_dynamic_items(GalleryNavButton, GalleryPickSelect, GalleryActionButton, GalleryAddButton)
    await bot.add_cog(GalleryCog(bot))
