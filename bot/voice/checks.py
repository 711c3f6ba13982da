"""Who may start or change playback, and where: refusals people can act on, before anything joins."""

from __future__ import annotations

from typing import Any

import discord

from bot.errors import UserError
from bot.ui.voice import (
    JOIN_FIRST,
    NOT_IN_GUILD,
    busy_elsewhere,
    channel_full,
    missing_permissions,
    not_a_listener,
)

VocalChannel = discord.VoiceChannel | discord.StageChannel

#: Permission flag → how Discord's settings name it.
_NEEDED = (("view_channel", "View Channel"), ("connect", "Connect"), ("speak", "Speak"))


def _voice_channel(user: Any) -> VocalChannel | None:
    state = getattr(user, "voice", None)
    channel = getattr(state, "channel", None)
    return channel if isinstance(channel, discord.VoiceChannel | discord.StageChannel) else None


def listeners(channel: Any) -> list[discord.Member]:
    """The people (not bots) in a voice channel."""
    return [member for member in getattr(channel, "members", []) if not member.bot]


def where_to_play(
    user: discord.abc.User, guild: discord.Guild | None, playing_in: int | None
) -> VocalChannel:
    """The caller's voice channel, if the bot may play there; else a :class:`UserError`.

    ``playing_in``: the channel the bot already plays in in this server, if any. Another
    channel is refused while people listen there (one voice connection per server).
    """
    if guild is None:
        raise UserError(NOT_IN_GUILD)
    channel = _voice_channel(user)
    if channel is None:
        raise UserError(JOIN_FIRST)
    permissions = channel.permissions_for(guild.me)
    missing = [name for flag, name in _NEEDED if not getattr(permissions, flag)]
    if missing:
        raise UserError(missing_permissions(channel.id, missing))
    if playing_in is not None and playing_in != channel.id:
        current = guild.get_channel(playing_in)
        if listeners(current):
            raise UserError(busy_elsewhere(playing_in))
    elif playing_in is None and channel.user_limit and len(channel.members) >= channel.user_limit:
        if not permissions.move_members:
            raise UserError(channel_full(channel.id))
    return channel


def check_controller(user: discord.abc.User, playing_in: int) -> None:
    """Changing what plays is for those listening (or who may move members anyway)."""
    channel = _voice_channel(user)
    if channel is not None and channel.id == playing_in:
        return
    permissions = getattr(user, "guild_permissions", None)
    if permissions is not None and (permissions.move_members or permissions.manage_channels):
        return
    raise UserError(not_a_listener(playing_in))
