"""Who sits in which voice channel, and the main gateway's answer to the bot's op 4.

The bot asks to join (or leave) with op 4 VOICE_STATE_UPDATE; Discord answers with a
VOICE_STATE_UPDATE dispatch to the guild and a VOICE_SERVER_UPDATE (token and endpoint) to the
asking session only. Without Connect (or View Channel) on the channel Discord does not answer at
all, so the client times out: the stand-in does the same and records the refusal.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import StandInUsageError
from ..gateway import GatewayHub, GatewaySession
from ..permissions import Perm
from ..state import ChannelType, Guild, User, VoiceState, World
from .server import VoiceServer

_JOIN = (Perm.VIEW_CHANNEL | Perm.CONNECT).value


@dataclass(frozen=True)
class VoiceRequest:
    """One op 4 the bot sent."""

    guild_id: int
    channel_id: int | None
    self_deaf: bool
    refused: bool


class VoiceStates:
    """Voice states of users and the bot, dispatched like Discord does."""

    def __init__(self, world: World, hub: GatewayHub, server: VoiceServer) -> None:
        self._world = world
        self._hub = hub
        self._server = server
        self.requests: list[VoiceRequest] = []
        #: guild id → the gateway session that joined the bot to voice there.
        self._bot_sessions: dict[int, GatewaySession] = {}

    # -- the bot's op 4 ------------------------------------------------------------------------

    async def on_op4(self, session: GatewaySession, data: Any) -> None:
        if not isinstance(data, dict) or not str(data.get("guild_id", "")).isdigit():
            return
        guild = self._world.guilds.get(int(data["guild_id"]))
        bot_id = self._world.bot.id
        if guild is None or bot_id not in guild.members:
            return
        raw_channel = data.get("channel_id")
        channel_id = int(raw_channel) if raw_channel is not None else None
        refused = channel_id is not None and not self._may_join(guild, channel_id)
        self.requests.append(VoiceRequest(guild.id, channel_id, bool(data.get("self_deaf")), refused))
        if refused:
            return
        if channel_id is None:
            self._bot_sessions.pop(guild.id, None)
            self._server.forget(guild.id)
            self._set(guild, bot_id, None)
            return
        previous = guild.voice_states.get(bot_id)
        state = VoiceState(
            bot_id,
            channel_id,
            session.id,
            self_mute=bool(data.get("self_mute")),
            self_deaf=bool(data.get("self_deaf")),
        )
        self._set(guild, bot_id, state)
        self._bot_sessions[guild.id] = session
        # A move within the server keeps its voice server: the connection carries on.
        if previous is None or guild.id not in self._server.connections:
            await self._send_server(guild, session)

    def _may_join(self, guild: Guild, channel_id: int) -> bool:
        channel = self._world.channels.get(channel_id)
        if channel is None or channel.deleted or channel.guild_id != guild.id:
            return False
        if channel.type != ChannelType.GUILD_VOICE:
            return False
        return self._world.permissions_for(channel, self._world.bot.id) & _JOIN == _JOIN

    async def _send_server(self, guild: Guild, session: GatewaySession) -> None:
        token = self._server.issue_token(guild.id, session.id)
        payload = {"token": token, "guild_id": str(guild.id), "endpoint": self._server.endpoint}
        self._hub.send_to(session, "VOICE_SERVER_UPDATE", payload)

    # -- people (tests) ------------------------------------------------------------------------

    def join(self, guild: Guild, user: User, channel_id: int) -> None:
        if user.id not in guild.members:
            raise StandInUsageError(f"{user.username} is not a member of {guild.name}")
        channel = self._world.channels.get(channel_id)
        if channel is None or channel.guild_id != guild.id or channel.type != ChannelType.GUILD_VOICE:
            raise StandInUsageError(f"{channel_id} is not a voice channel of {guild.name}")
        if not self._world.permissions_for(channel, user.id) & _JOIN == _JOIN:
            raise StandInUsageError(f"{user.username} may not connect to {channel.name}")
        self._set(guild, user.id, VoiceState(user.id, channel_id, secrets.token_hex(16)))

    def leave(self, guild: Guild, user: User) -> None:
        if user.id not in guild.voice_states:
            raise StandInUsageError(f"{user.username} is not in a voice channel of {guild.name}")
        self._set(guild, user.id, None)

    def move_bot(self, guild: Guild, channel_id: int) -> None:
        """Someone with Move Members drags the bot to another channel (same voice server)."""
        current = guild.voice_states.get(self._world.bot.id)
        if current is None or guild.id not in self._bot_sessions:
            raise StandInUsageError("the bot is not in a voice channel there")
        moved = VoiceState(self._world.bot.id, channel_id, current.session_id, self_deaf=current.self_deaf)
        self._set(guild, self._world.bot.id, moved)

    async def kick_bot(self, guild: Guild) -> None:
        """Someone disconnects the bot from voice."""
        if self._world.bot.id not in guild.voice_states:
            raise StandInUsageError("the bot is not in a voice channel there")
        self._bot_sessions.pop(guild.id, None)
        self._server.forget(guild.id)
        self._set(guild, self._world.bot.id, None)
        await self._server.disconnect(guild.id)

    # -- plumbing ------------------------------------------------------------------------------

    def _set(self, guild: Guild, user_id: int, state: VoiceState | None) -> None:
        previous = guild.voice_states.pop(user_id, None)
        if state is not None:
            guild.voice_states[user_id] = state
        payload = (state or previous or VoiceState(user_id, 0, "")).to_payload(guild.id)
        if state is None:
            payload["channel_id"] = None
        member = guild.members.get(user_id)
        if member is not None:
            payload["member"] = self._world.member_payload(member)
        self._hub.dispatch("VOICE_STATE_UPDATE", payload, guild_id=guild.id)
