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
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.options import preset_autocomplete
from bot.errors import UserError, answering_errors, defer_private
from bot.library.service import check_revealed
from bot.storage import GalleryEntry, GalleryFilter, GallerySort
from bot.ui.components import MAX_SEARCH, JobControl, client_bot, custom_id_with_tail, listing_filters
from bot.ui.embeds import GALLERY_EMOJI
from bot.ui.library import (
    PAGE_SIZE,
    entry_numbers,
    gallery_embed,
    gallery_entry_embed,
    gallery_options,
)
from bot.ui.listing import Action, Screen
from bot.ui.text import PROMPT_IN_CONTENT, shown
from bot.voice.controls import PlayInVoiceButton
from generation.naming import mp3_filename

if TYPE_CHECKING:
    from bot.app import AmbientBot
    from bot.storage import Page

log = logging.getLogger(__name__)

#: ``/gallery top period:`` → how far back, in seconds (None: all time).
PERIODS: dict[str, float | None] = {
    "day": 86_400.0,
    "week": 7 * 86_400.0,
    "month": 30 * 86_400.0,
    "all": None,
}
_PERIOD_TITLES = {"day": "today", "week": "this week", "month": "this month", "all": "of all time"}
NO_SERVER = "The gallery belongs to a server: use it there."


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
        """The page's title; ``guild_name`` is shown as typed (escaped here)."""
        name = shown(guild_name, 100)
        if self.sort is GallerySort.NEW:
            return f"{GALLERY_EMOJI} {name} gallery — newest"
        return f"{GALLERY_EMOJI} {name} gallery — top {_PERIOD_TITLES[self.period]}"


def _may_remove(entry: GalleryEntry, interaction: discord.Interaction) -> bool:
    return entry.author_id == interaction.user.id or interaction.permissions.manage_messages


# -- the actions on a gallery card -----------------------------------------------------------


async def _play(interaction: discord.Interaction, entry_id: int) -> None:
    bot = client_bot(interaction)
    # The stored bytes from the data folder, never the original attachment's (expiring) URL.
    entry, data = await bot.library.play(interaction.guild_id, entry_id)
    view = discord.ui.View(timeout=None)
    view.add_item(GALLERY.button("reroll", entry.id))
    # Public: the post with the file replaces the placeholder for everyone to hear.
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
    check_revealed(entry.model)
    job = await bot.service.reroll_stored(interaction, entry.request, made_by=entry.model)
    await interaction.followup.send(
        f"🔁 Queued your own take of **{shown(entry.user_text, PROMPT_IN_CONTENT)}** (job #{job.id}); "
        "it will be posted here.",
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
        f"🗑️ Removed **{shown(entry.user_text, PROMPT_IN_CONTENT)}** (#{entry.id}) from the gallery.",
        ephemeral=True,
    )


class GalleryScreen(Screen[GalleryListing]):
    """The clicker's current server's gallery: never another server's entries."""

    key = "gal"
    nav_template = (
        r"ambientgen:gal:(?P<dir>prev|next):(?P<sort>top|new):(?P<period>day|week|month|all):"
        r"(?P<page>\d+):(?P<preset>[a-z0-9-]*):(?P<search>.*)"
    )
    pick_template = r"ambientgen:gal:pick"
    actions: ClassVar[dict[str, Action]] = {
        "play": Action("Play", "▶️", discord.ButtonStyle.primary, _play, answer="public"),
        "reroll": Action("Make my own take", "🔁", discord.ButtonStyle.secondary, _reroll),
        "remove": Action("Remove from gallery", "🗑️", discord.ButtonStyle.danger, _remove),
    }

    def nav_id(self, listing: GalleryListing, direction: str, page: int) -> str:
        prefix = (
            f"ambientgen:gal:{direction}:{listing.sort.value}:{listing.period}:{page}:{listing.preset or ''}:"
        )
        return custom_id_with_tail(prefix, listing.search or "")

    def from_nav(self, match: re.Match[str]) -> tuple[GalleryListing, int]:
        listing = GalleryListing(
            GallerySort(match["sort"]), match["period"], match["preset"] or None, match["search"] or None
        )
        return listing, int(match["page"])

    def pick_id(self, listing: GalleryListing) -> str:
        return "ambientgen:gal:pick"

    def from_pick(self, match: re.Match[str]) -> GalleryListing:
        return GalleryListing()

    async def page(
        self, interaction: discord.Interaction, listing: GalleryListing, number: int
    ) -> Page[GalleryEntry]:
        if interaction.guild_id is None:
            raise UserError(NO_SERVER)
        gallery = client_bot(interaction).library.gallery
        return await gallery.page(listing.filter(interaction.guild_id), number, PAGE_SIZE)

    def embed(
        self, interaction: discord.Interaction, listing: GalleryListing, page: Page[Any]
    ) -> discord.Embed:
        guild = interaction.guild
        title = listing.title(guild.name if guild is not None else "This server's")
        return gallery_embed(page, title=title, search=listing.search, preset=listing.preset)

    def options(self, page: Page[Any]) -> list[discord.SelectOption]:
        return gallery_options(page)

    async def card(self, interaction: discord.Interaction, row_id: int) -> tuple[discord.Embed, Any]:
        entry = await client_bot(interaction).library.entry_here(interaction.guild_id, row_id)
        return gallery_entry_embed(entry), entry

    def card_actions(self, interaction: discord.Interaction, row: Any) -> list[str]:
        removable = ["remove"] if _may_remove(row, interaction) else []
        return ["play", "reroll", *removable]

    def card_view(self, interaction: discord.Interaction, row_id: int, row: Any) -> discord.ui.View:
        # The voice cog's own persistent button goes after the others, before Remove.
        items: list[discord.ui.Item[Any]] = [
            self.button(a, row_id) for a in self.card_actions(interaction, row)
        ]
        items.insert(2, PlayInVoiceButton("gal", row_id))
        view = discord.ui.View(timeout=None)
        for item in items:
            view.add_item(item)
        return view


GALLERY = GalleryScreen()


class GalleryAddButton(
    JobControl, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ambientgen:gal:add:(?P<job>\d+)"
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

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "gallery add"):
            await defer_private(interaction)
            bot = client_bot(interaction)
            job = await self.result_job(interaction)  # this message's job, in this server
            if job.guild_id is None:
                raise UserError("Galleries belong to servers: a result from a DM can't join one.")
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
        await GALLERY.show(interaction, listing)

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
    bot.add_dynamic_items(*GALLERY.items(), GalleryAddButton)
    await bot.add_cog(GalleryCog(bot))
