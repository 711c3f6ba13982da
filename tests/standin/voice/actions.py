"""The voice part of the stand-in's test API: voice channels, people joining them, what was heard."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

from ..core import StandInCore
from ..errors import StandInUsageError
from ..state import Channel, ChannelType, Guild, User
from .capture import VoiceCapture
from .server import VoiceConnection, VoiceServer
from .states import VoiceRequest, VoiceStates
from .tls import TestAuthority


class VoiceStandIn:
    """The voice server, its certificate authority and the voice states, wired to the main gateway."""

    def __init__(self, core: StandInCore) -> None:
        self.authority = TestAuthority()
        self.server = VoiceServer(self.authority, notify=core.changed, internal_errors=core.internal_errors)
        self.states = VoiceStates(core.world, core.hub, self.server)
        core.hub.on_voice_request = self.states.on_op4

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        self.authority.remove()


class VoiceActions:
    """Mixin for ``DiscordStandIn``: voice channels, voice states and the audio the bot sent."""

    _core: StandInCore
    _voice: VoiceStandIn
    guild: Callable[[int], Guild]  # from UserActions

    # -- TLS ---------------------------------------------------------------------------------

    @property
    def voice_ca_file(self) -> Path:
        """PEM of the authority behind the voice gateway's certificate: the bot's ``SSL_CERT_FILE``."""
        return self._voice.authority.ca_file

    def voice_client_ssl(self) -> ssl.SSLContext:
        """An SSL context trusting the voice gateway, for an in-process client's connector."""
        return self._voice.authority.client_context()

    # -- channels and people -------------------------------------------------------------------

    def add_voice_channel(self, guild_id: int, name: str = "Lounge") -> Channel:
        guild = self.guild(guild_id)
        channel = self._core.world.add_channel(guild, name, type=ChannelType.GUILD_VOICE)
        self._core.channel_event("CHANNEL_CREATE", channel)
        return channel

    def join_voice(self, user: User, channel_id: int) -> None:
        """``user`` joins a voice channel (leaving any other one of that server)."""
        channel = self._core.world.channels.get(channel_id)
        if channel is None or channel.guild_id is None:
            raise StandInUsageError(f"unknown voice channel {channel_id}")
        self._voice.states.join(self.guild(channel.guild_id), user, channel_id)
        self._core.changed()

    def leave_voice(self, user: User, guild_id: int) -> None:
        self._voice.states.leave(self.guild(guild_id), user)
        self._core.changed()

    def move_bot_voice(self, guild_id: int, channel_id: int) -> None:
        """A moderator drags the bot into another voice channel (its voice connection carries on)."""
        self._voice.states.move_bot(self.guild(guild_id), channel_id)
        self._core.changed()

    async def kick_bot_voice(self, guild_id: int) -> None:
        """A moderator disconnects the bot from voice."""
        await self._voice.states.kick_bot(self.guild(guild_id))
        self._core.changed()

    def voice_channel_of(self, guild_id: int, user: User | None = None) -> int | None:
        """Where ``user`` (default: the bot) sits in voice in that server, or None."""
        user_id = user.id if user is not None else self._core.world.bot.id
        state = self.guild(guild_id).voice_states.get(user_id)
        return state.channel_id if state is not None else None

    # -- what the bot did --------------------------------------------------------------------

    @property
    def voice_requests(self) -> list[VoiceRequest]:
        """Every op 4 the bot sent, in order."""
        return list(self._voice.states.requests)

    def voice_connection(self, guild_id: int) -> VoiceConnection | None:
        """The bot's live voice gateway connection in that server, if any."""
        return self._voice.server.connections.get(guild_id)

    def voice_audio(self, guild_id: int) -> VoiceCapture:
        """Everything the bot sent in voice in that server, decoded."""
        return self._voice.server.capture(guild_id)

    @property
    def rejected_voice_packets(self) -> int:
        return self._voice.server.rejected_packets

    async def wait_for_voice_frames(
        self,
        guild_id: int,
        count: int,
        *,
        since: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> VoiceCapture:
        """Wait until ``count`` frames arrived after frame index ``since``."""
        capture = self.voice_audio(guild_id)

        def enough() -> VoiceCapture | None:
            return capture if len(capture) - since >= count else None

        return await self._core.recorder.notifier.wait_until(
            enough, timeout, f"{count} voice frames in guild {guild_id}"
        )
