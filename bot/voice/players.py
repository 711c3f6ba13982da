"""Every server's player: starting, switching, controlling, restoring after a restart.

One lock per server serialises the changes that join, switch or stop, so two quick ``/play``s
never race to connect. Waiting ``/play prompt:`` requests live in SQLite (``voice_requests``)
and are consumed exactly once, whether the delivery event or a restart finds them first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable

import discord
from discord.ext import commands

from bot.config import VoiceConfig
from bot.errors import UserError
from bot.storage import Job, JobStatus, JobStore, Mp3Files
from bot.storage.players import PlayerState, PlayerStore, Track
from bot.ui.voice import (
    NOTHING_PLAYING,
    STOPPED_FAILED,
    STOPPED_KICKED,
    STOPPED_SLEEP,
    TOO_MANY_PLAYERS,
    could_not_play,
    voice_unavailable,
)
from bot.voice.announcer import Announcer
from bot.voice.checks import VocalChannel, check_controller, where_to_play
from bot.voice.player import Player, PlayerKit
from bot.voice.support import VoiceSupport
from bot.voice.tracks import Tracks

log = logging.getLogger(__name__)

#: The cog that owns the players (components reach them through the client).
COG_NAME = "VoiceCog"


def players_of(client: discord.Client) -> Players:
    """The bot's voice players, from a component callback (which gets only the client)."""
    cog = client.get_cog(COG_NAME) if isinstance(client, commands.Bot | commands.AutoShardedBot) else None
    players = getattr(cog, "players", None)
    if not isinstance(players, Players):
        raise UserError("Voice playback isn't running on this bot.")
    return players


class Players:
    """The voice players of all servers."""

    def __init__(
        self,
        *,
        client: discord.Client,
        files: Mp3Files,
        store: PlayerStore,
        config: VoiceConfig,
        trim_s: tuple[float, float],
        tracks: Tracks,
        jobs: JobStore,
        support: VoiceSupport,
        controls: Callable[[PlayerState], discord.ui.View],
    ) -> None:
        announcer = Announcer(client, controls)
        self.kit = PlayerKit(client, files, store, config, announcer, trim_s, closed=self.closed)
        self.tracks = tracks
        self.jobs = jobs
        self.support = support
        self._players: dict[int, Player] = {}
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def store(self) -> PlayerStore:
        return self.kit.store

    @property
    def playing(self) -> int:
        """Players playing now (one per server at most)."""
        return len(self._players)

    def get(self, guild_id: int | None) -> Player | None:
        player = self._players.get(guild_id) if guild_id is not None else None
        return None if player is None or player.closing else player

    def closed(self, guild_id: int) -> None:
        """A player stopped for good (its own callback)."""
        player = self._players.get(guild_id)
        if player is not None and player.closing:
            del self._players[guild_id]

    def require_voice(self) -> None:
        if not self.support.available:
            raise UserError(voice_unavailable(self.support.detail))

    # -- starting --------------------------------------------------------------------------------

    def destination(self, user: discord.abc.User, guild: discord.Guild | None) -> VocalChannel:
        """Where a command of ``user`` would play, or a refusal (checked before any work)."""
        self.require_voice()
        current = self.get(guild.id if guild is not None else None)
        channel = where_to_play(user, guild, current.state.voice_channel_id if current else None)
        if current is None:
            self.check_capacity(channel.guild.id)
        return channel

    def check_capacity(self, guild_id: int) -> None:
        """Refuse a new player once ``[voice] max_players`` servers play (a playing server may switch)."""
        others = sum(1 for g in self._players if g != guild_id)
        if others >= self.kit.config.max_players:
            raise UserError(TOO_MANY_PLAYERS.format(limit=self.kit.config.max_players))

    async def play(self, channel: VocalChannel, text_channel_id: int, track: Track, started_by: int) -> bool:
        """Play ``track`` in ``channel``; True when it crossfaded from something already playing."""
        guild_id = channel.guild.id
        async with self._locks[guild_id]:
            player = self._players.get(guild_id)
            if player is not None and player.closing:
                await player.closed.wait()
                player = None
            if player is not None:
                if player.state.voice_channel_id != channel.id:
                    await player.move_to(channel)
                await player.play(track, started_by)
                return True
            self.check_capacity(guild_id)
            state = PlayerState(
                guild_id=guild_id,
                voice_channel_id=channel.id,
                text_channel_id=text_channel_id,
                track=track,
                volume=self.kit.config.default_volume,
                started_by=started_by,
            )
            await self._start(Player(self.kit, state))
            return False

    async def _start(self, player: Player) -> None:
        self._players[player.guild_id] = player
        try:
            await player.start()
        except BaseException:
            await player.stop(STOPPED_FAILED.format(reason="joining the voice channel failed."), fade=False)
            raise

    # -- /play prompt: start when the job is delivered --------------------------------------------

    async def after_job(self, job: Job, channel: VocalChannel, text_channel_id: int, user_id: int) -> None:
        """Remember to play ``job`` in ``channel`` once it is delivered (it may be already)."""
        await self.store.add_request(
            job.id,
            guild_id=channel.guild.id,
            voice_channel_id=channel.id,
            text_channel_id=text_channel_id,
            user_id=user_id,
        )
        current = await self.jobs.get(job.id)
        if current is not None and current.status is JobStatus.DONE:
            await self.delivered(current)

    async def delivered(self, job: Job) -> None:
        """A job was posted: if a ``/play`` waits for it, start it there."""
        request = await self.store.take_request(job.id)
        if request is None:
            return
        guild = self.kit.client.get_guild(request.guild_id)
        channel = guild.get_channel(request.voice_channel_id) if guild is not None else None
        try:
            self.require_voice()
            if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                raise UserError("the voice channel is gone.")
            track = await self.tracks.of_job(job.id, request.guild_id)
            await self.play(channel, request.text_channel_id, track, request.user_id)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, UserError) else "something went wrong on our side."
            if not isinstance(exc, UserError):
                log.error("job %d: could not start playing in voice", job.id, exc_info=exc)
            text = could_not_play(request.user_id, job.request.user_text, reason)
            await self.kit.announcer.note(request.guild_id, request.text_channel_id, text)

    # -- controls -----------------------------------------------------------------------------------

    def controlled(self, guild_id: int | None, user: discord.abc.User) -> Player:
        """The server's player, if ``user`` may change it."""
        player = self.get(guild_id)
        if player is None:
            raise UserError(NOTHING_PLAYING)
        check_controller(user, player.state.voice_channel_id)
        return player

    async def stop(self, player: Player, reason: str) -> None:
        async with self._locks[player.guild_id]:
            await player.stop(reason)

    # -- Discord events -------------------------------------------------------------------------------

    async def voice_state_changed(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        player = self.get(member.guild.id)
        if player is None:
            return
        me = self.kit.client.user
        if me is not None and member.id == me.id:
            if after.channel is None:
                await player.stop(STOPPED_KICKED, fade=False)
            elif before.channel is None or before.channel.id != after.channel.id:
                await player.moved(after.channel.id)
            return
        player.check_listeners()

    # -- restarts ---------------------------------------------------------------------------------------

    async def restore(self) -> None:
        """Rejoin and resume every saved player, then start any request whose job is done."""
        for state in await self.store.all():
            async with self._locks[state.guild_id]:
                await self._restore(state)
        for request in await self.store.requests():
            job = await self.jobs.get(request.job_id)
            if job is None or job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                await self.store.take_request(request.job_id)
            elif job.status is JobStatus.DONE:
                await self.delivered(job)

    async def _restore(self, state: PlayerState) -> None:
        if state.guild_id in self._players:
            return  # someone started playback there since this start (commands work before ready)
        if self.kit.client.get_guild(state.guild_id) is None:
            await self.store.delete(state.guild_id)
            return
        player = Player(self.kit, state)
        if state.sleep_at is not None and state.sleep_at <= time.time():
            self._players[state.guild_id] = player
            await player.stop(STOPPED_SLEEP, fade=False)
            return
        try:
            await self._start(player)  # on failure it closes the message and forgets the state
        except Exception as exc:
            reason = str(exc) if isinstance(exc, UserError) else type(exc).__name__
            log.warning("guild %d: could not resume voice playback: %s", state.guild_id, reason)
            return
        log.info("guild %d: resumed voice playback after a restart", state.guild_id)

    async def shutdown(self) -> None:
        """Leave every channel for a restart, keeping the saved state so the next start resumes."""
        players = list(self._players.values())
        await asyncio.gather(*(p.stop("", forget=False) for p in players), return_exceptions=True)
