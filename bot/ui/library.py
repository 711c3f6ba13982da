"""Embeds and select options of the history and the gallery, built from stored rows only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import discord

from bot.storage import HIDDEN_MODEL, GalleryEntry, HistoryEntry, Page
from bot.ui.embeds import EMBED_COLOUR, GALLERY_EMOJI, PROMPT_IN_LIST, preset_label
from bot.ui.text import (
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    OPTION_DESCRIPTION_MAX,
    OPTION_LABEL_MAX,
    TITLE_MAX,
    clip,
    escape,
    fit_embed,
    plain,
    shown,
)
from generation.prompting import format_number
from generation.request import GenerationRequest
from generation.settings import model_display_name

#: Rows per history or gallery page (a select menu takes at most 25).
PAGE_SIZE = 10

#: ``place(guild_id, channel_id)``: where something was made, e.g. "Ambient Server · <#123>".
Place = Callable[[int | None, int], str]


def place_in(client: discord.Client) -> Place:
    """Where-texts from the client's cache (a server the bot left shows as "another server")."""

    def place(guild_id: int | None, channel_id: int) -> str:
        if guild_id is None:
            return "DM"
        guild = client.get_guild(guild_id)
        name = shown(guild.name, 100) if guild is not None else "another server"
        return f"{name} · <#{channel_id}>"

    return place


def when(timestamp: float) -> str:
    """A Discord timestamp: every reader sees it in their own time zone ("3 days ago")."""
    return f"<t:{int(timestamp)}:R>"


def summary(request: GenerationRequest) -> str:
    return f"{preset_label(request)} · {format_number(request.duration_s)} s · seed {request.seed}"


def _footer(page: Page[Any], noun: str, hint: str) -> str:
    plural = noun if page.total == 1 else noun + "s"
    return f"Page {page.number + 1}/{page.count} · {page.total} {plural} · {hint}"


def _filters(search: str | None, preset: str | None) -> str:
    parts = []
    if search:
        parts.append(f"matching “{shown(search, 100)}”")
    if preset:
        parts.append(f"preset `{preset}`")
    return " · ".join(parts)


# -- history ------------------------------------------------------------------------------


def history_embed(
    page: Page[HistoryEntry], *, search: str | None, preset: str | None, place: Place
) -> discord.Embed:
    """One page of the caller's history, newest first."""
    filters = _filters(search, preset)
    embed = discord.Embed(title="Your soundscapes", colour=EMBED_COLOUR)
    if not page.items:
        empty = "You have no soundscapes yet — try `/ambient`!"
        embed.description = f"Nothing in your history {filters}." if filters else empty
        return embed
    lines = [f"*{filters}*"] if filters else []
    for number, entry in enumerate(page.items, start=page.first_index + 1):
        g = entry.generation
        flags = (f" · {GALLERY_EMOJI} in gallery" if entry.in_gallery else "") + (
            " · file expired" if entry.file_expired else ""
        )
        lines.append(
            f"**{number}.** {shown(g.user_text, PROMPT_IN_LIST)} — {summary(g.request)} · "
            f"{when(g.created_at)} · {place(g.guild_id, g.channel_id)}{flags}"
        )
    embed.description = clip("\n".join(lines), DESCRIPTION_MAX)
    embed.set_footer(text=_footer(page, "soundscape", "pick one to replay, reroll, tweak, share or delete"))
    return fit_embed(embed)


def history_options(page: Page[HistoryEntry]) -> list[discord.SelectOption]:
    return [
        discord.SelectOption(
            label=plain(f"{number}. {entry.generation.user_text}", OPTION_LABEL_MAX),
            description=clip(summary(entry.generation.request), OPTION_DESCRIPTION_MAX),
            value=str(entry.id),
        )
        for number, entry in enumerate(page.items, start=page.first_index + 1)
    ]


#: A blind comparison's take before the reveal: what the card says instead of the model's prompt
#: craft (its wording, steps and guidance differ by model, so they would tell which is which).
BLIND_DESCRIPTION = "One take of a blind comparison: how the model was asked shows once it is revealed."


def blind(model: str) -> bool:
    """Whether a row is a blind comparison's take that is not revealed yet."""
    return model == HIDDEN_MODEL


def history_entry_embed(entry: HistoryEntry, place: Place) -> discord.Embed:
    """Everything about one of the caller's soundscapes (a blind take: nothing model-specific)."""
    g = entry.generation
    hidden = blind(g.model)
    about = BLIND_DESCRIPTION if hidden else f"**Expanded prompt:** {escape(g.prompt)}"
    embed = discord.Embed(
        title=shown(g.user_text, TITLE_MAX), description=clip(about, DESCRIPTION_MAX), colour=EMBED_COLOUR
    )
    embed.add_field(name="Preset", value=preset_label(g.request))
    embed.add_field(name="Duration", value=f"{format_number(g.duration_s)} s")
    embed.add_field(name="Seed", value=str(g.seed))
    if not hidden:
        embed.add_field(name="Steps", value=str(g.steps))
        if g.scheduler != "default":
            sampler = "fast (DPM-Solver++)" if g.scheduler == "dpm++" else g.scheduler
            embed.add_field(name="Sampler", value=sampler)
        embed.add_field(name="Guidance", value=format_number(g.guidance))
    embed.add_field(name="Model", value=shown(model_display_name(g.model), FIELD_VALUE_MAX))
    if not hidden and g.negative_prompt:
        embed.add_field(name="Negative prompt", value=shown(g.negative_prompt, FIELD_VALUE_MAX), inline=False)
    if not hidden and g.gen_seconds:
        embed.add_field(name="Generated in", value=f"{g.gen_seconds:.1f} s")
    embed.add_field(name="Made", value=when(g.created_at))
    embed.add_field(name="Where", value=clip(place(g.guild_id, g.channel_id), FIELD_VALUE_MAX))
    embed.add_field(name="File", value="expired" if entry.file_expired else "stored")
    embed.set_footer(text=f"History #{g.id}" + (" · in the gallery" if entry.in_gallery else ""))
    return fit_embed(embed)


# -- gallery ------------------------------------------------------------------------------


def gallery_embed(
    page: Page[GalleryEntry], *, title: str, search: str | None, preset: str | None
) -> discord.Embed:
    """One page of a server's gallery."""
    filters = _filters(search, preset)
    embed = discord.Embed(title=clip(title, TITLE_MAX), colour=EMBED_COLOUR)
    if not page.items:
        embed.description = (
            f"No gallery soundscapes {filters}."
            if filters
            else f"The gallery is empty: react {GALLERY_EMOJI} on a result to add it."
        )
        return embed
    lines = [f"*{filters}*"] if filters else []
    for number, entry in enumerate(page.items, start=page.first_index + 1):
        lines.append(
            f"**{number}.** {GALLERY_EMOJI} {entry.score} · {shown(entry.user_text, PROMPT_IN_LIST)} — "
            f"{summary(entry.request)} · by <@{entry.author_id}> · {when(entry.added_at)}"
        )
    embed.description = clip("\n".join(lines), DESCRIPTION_MAX)
    embed.set_footer(text=_footer(page, "soundscape", "pick one to play, reroll or remove"))
    return fit_embed(embed)


def gallery_options(page: Page[GalleryEntry]) -> list[discord.SelectOption]:
    return [
        discord.SelectOption(
            label=plain(f"{number}. {entry.user_text}", OPTION_LABEL_MAX),
            description=clip(
                f"{GALLERY_EMOJI} {entry.score} · {summary(entry.request)}", OPTION_DESCRIPTION_MAX
            ),
            value=str(entry.id),
        )
        for number, entry in enumerate(page.items, start=page.first_index + 1)
    ]


def gallery_entry_embed(entry: GalleryEntry) -> discord.Embed:
    """One gallery soundscape: what it is, who made it, how liked it is (a blind take: nothing
    model-specific)."""
    request = entry.request
    about = BLIND_DESCRIPTION if blind(entry.model) else f"**Expanded prompt:** {escape(request.prompt)}"
    embed = discord.Embed(
        title=shown(entry.user_text, TITLE_MAX), description=clip(about, DESCRIPTION_MAX), colour=EMBED_COLOUR
    )
    embed.add_field(name="Votes", value=f"{GALLERY_EMOJI} {entry.score}")
    embed.add_field(name="Preset", value=preset_label(request))
    embed.add_field(name="Duration", value=f"{format_number(request.duration_s)} s")
    embed.add_field(name="Seed", value=str(request.seed))
    embed.add_field(name="Made by", value=f"<@{entry.author_id}>")
    embed.add_field(name="Added", value=f"{when(entry.added_at)} by <@{entry.added_by}>")
    embed.set_footer(text=f"Gallery #{entry.id} · react {GALLERY_EMOJI} to vote")
    return fit_embed(embed)


def entry_numbers(entries: Sequence[GalleryEntry]) -> str:
    """How an answer names the entries it touched: ``#3`` or ``#3, #4``."""
    return ", ".join(f"#{entry.id}" for entry in entries)
