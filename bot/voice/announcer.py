"""The now-playing message: posted once per player, edited on every change, closed at the end."""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord

from bot.storage.players import PlayerState
from bot.ui.voice import now_playing_embed, stopped_embed

log = logging.getLogger(__name__)


class Announcer:
    """Shows a player's state in its text channel; Discord errors are logged, never raised."""

    def __init__(self, client: discord.Client, controls: Callable[[PlayerState], discord.ui.View]) -> None:
        self._client = client
        self._controls = controls

    def _channel(self, state: PlayerState) -> discord.PartialMessageable:
        return self._client.get_partial_messageable(state.text_channel_id, guild_id=state.guild_id)

    async def show(self, state: PlayerState) -> int | None:
        """Edit the now-playing message (or post it); returns its id, None if it can't be posted."""
        embed, view = now_playing_embed(state), self._controls(state)
        channel = self._channel(state)
        if state.message_id is not None:
            try:
                await channel.get_partial_message(state.message_id).edit(embed=embed, view=view)
                return state.message_id
            except discord.NotFound:
                log.info("guild %d: the now-playing message was deleted; posting a new one", state.guild_id)
            except discord.HTTPException as exc:
                log.warning("guild %d: could not update the now-playing message: %s", state.guild_id, exc)
                return state.message_id
        try:
            message = await channel.send(embed=embed, view=view)
        except discord.HTTPException as exc:
            log.warning("guild %d: could not post the now-playing message: %s", state.guild_id, exc)
            return None
        return message.id

    async def closed(self, state: PlayerState, reason: str) -> None:
        """Turn the message into a note of why playback ended, without controls."""
        if state.message_id is None:
            return
        try:
            message = self._channel(state).get_partial_message(state.message_id)
            await message.edit(embed=stopped_embed(state, reason), view=None)
        except discord.HTTPException as exc:
            log.info("guild %d: could not close the now-playing message: %s", state.guild_id, exc)

    async def note(self, guild_id: int, channel_id: int, text: str) -> None:
        """A one-off line in a text channel (why a queued /play could not start)."""
        try:
            await self._client.get_partial_messageable(channel_id, guild_id=guild_id).send(text)
        except discord.HTTPException as exc:
            log.info("guild %d: could not post a voice note: %s", guild_id, exc)
