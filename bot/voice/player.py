"""One server's voice player: its voice connection, its mix, its timers and its saved state.

Every change is written to SQLite (``voice_players``) and shown on the now-playing message, so
what people hear, what the message says and what a restart resumes always agree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.config import VoiceConfig
from bot.errors import UserError
from bot.library.service import EXPIRED
from bot.storage import Mp3Files
from bot.storage.players import PlayerState, PlayerStore, Track
from bot.ui.voice import STOPPED_EMPTY, STOPPED_FAILED, STOPPED_SLEEP
from bot.voice.announcer import Announcer
from bot.voice.cycle import UnplayableAudio, plan_cycle
from bot.voice.feeder import FEEDER
from bot.voice.mixer import PAUSE_RAMP_S, LoopMixer
from bot.voice.source import MixerSource
from bot.voice.stream import StreamingLoop
from bot.voice.timing import sleep_fade_s

log = logging.getLogger(__name__)

#: How long joining a voice channel may take.
CONNECT_TIMEOUT_S = 20.0
#: When the DAVE status is logged after joining.
E2EE_REPORT_AFTER_S = 5.0
#: How long a dropped connection may take to be explained (kicked, moved) before it counts as lost.
LOST_GRACE_S = 2.0
#: How long leaving a voice channel may take to be confirmed.
DISCONNECT_TIMEOUT_S = 5.0
#: /stop and leaving fade out this fast (a sleep timer has its own, long fade).
STOP_FADE_S = 0.6


@dataclass(frozen=True)
class PlayerKit:
    """What every player needs from the bot."""

    client: discord.Client
    files: Mp3Files
    store: PlayerStore
    config: VoiceConfig
    announcer: Announcer
    trim_s: tuple[float, float]
    """The fade-in and fade-out of plain clips, cut off before they are looped."""
    closed: Callable[[int], None]
    """Called with the guild id once a player has stopped for good."""


def spawn(coro: Awaitable[None], name: str) -> asyncio.Task[None]:
    """A background task whose failure is logged with its name, never lost."""
    task = asyncio.ensure_future(coro)
    task.set_name(name)

    def done(finished: asyncio.Task[None]) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            log.error("task %s failed", name, exc_info=finished.exception())

    task.add_done_callback(done)
    return task


class Player:
    """Plays one soundscape at a time, looped, in one voice channel of one server."""

    def __init__(self, kit: PlayerKit, state: PlayerState) -> None:
        self.kit = kit
        self.state = state
        self.voice: discord.VoiceClient | None = None
        self.mixer: LoopMixer | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sleep_fading = False
        self.closing = False
        self.closed = asyncio.Event()

    @property
    def guild_id(self) -> int:
        return self.state.guild_id

    def channel(self) -> discord.abc.GuildChannel | None:
        guild = self.kit.client.get_guild(self.guild_id)
        return guild.get_channel(self.state.voice_channel_id) if guild is not None else None

    # -- starting and changing what plays -----------------------------------------------------

    async def _loop_of(self, track: Track) -> StreamingLoop:
        """A source streaming ``track`` from disk, its first blocks already decoded."""
        try:
            path = self.kit.files.path(track.mp3_path)
        except ValueError:
            raise UserError(EXPIRED) from None
        head, tail = self.kit.trim_s

        def prepare() -> StreamingLoop:
            cycle = plan_cycle(path, already_loops=track.loops, trim_start_s=head, trim_end_s=tail)
            source = StreamingLoop(cycle)
            source.refill()
            return source

        if not await asyncio.to_thread(path.is_file):
            raise UserError(EXPIRED)
        try:
            source = await asyncio.to_thread(prepare)
        except FileNotFoundError:
            raise UserError(EXPIRED) from None
        except UnplayableAudio as exc:
            raise UserError(f"That soundscape can't be played in voice ({exc}).") from None
        FEEDER.add(source)
        return source

    async def start(self) -> None:
        """Join the voice channel and play the saved track (also after a restart)."""
        loop = await self._loop_of(self.state.track)
        channel = self.channel()
        try:
            if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                raise UserError("That voice channel no longer exists.")
            self.voice = await channel.connect(self_deaf=True, timeout=CONNECT_TIMEOUT_S)
        except BaseException:
            loop.close()  # not playing after all: the feeder lets go of the file
            raise
        self.mixer = LoopMixer(loop, volume=self.state.volume / 100)
        self._play()
        if self.state.paused:
            self.mixer.pause(1 / 48_000)
            self.voice.pause()
        self._schedule_sleep()
        self.check_listeners()
        self._run("e2ee", self._report_encryption())
        await self._changed()
        log.info("guild %d: playing %r in channel %d", self.guild_id, self.state.track.title, channel.id)

    async def _report_encryption(self) -> None:
        """Log whether DAVE is active (the manual check on real Discord compares this code)."""
        await asyncio.sleep(E2EE_REPORT_AFTER_S)  # DAVE's key exchange follows the connection
        code = self.voice.voice_privacy_code if self.voice is not None else None
        if code:
            log.info("guild %d: voice is end-to-end encrypted (DAVE), privacy code %s", self.guild_id, code)
        else:
            log.info(
                "guild %d: voice is not end-to-end encrypted (the server offered no DAVE)", self.guild_id
            )

    def _play(self) -> None:
        assert self.voice is not None and self.mixer is not None
        self.voice.play(
            MixerSource(self.mixer),
            after=self._after,
            bitrate=self.kit.config.bitrate_kbps,
            # CELT only: full-band music coding without the speech modes, and the least delay.
            # It keeps the waveform (correlation 0.997 with the source at 128 kbps, where the
            # general "audio" mode measured 0.86 on noisy soundscapes).
            application="lowdelay",
            signal_type="music",
        )

    def _after(self, error: Exception | None) -> None:
        """discord.py's audio thread ended (we stopped it, or the connection gave up)."""
        if error is not None:
            log.error("guild %d: voice playback failed", self.guild_id, exc_info=error)
        if not self.closing and not self.kit.client.is_closed():
            try:
                self.kit.client.loop.call_soon_threadsafe(self._playback_ended)
            except (AttributeError, RuntimeError):  # the client is shutting down under us
                log.info("guild %d: playback ended while the bot shuts down", self.guild_id)

    def _playback_ended(self) -> None:
        if self.closing:
            return
        if self.voice is not None and self.voice.is_connected():
            log.warning("guild %d: playback ended unexpectedly; starting it again", self.guild_id)
            self._play()
        else:
            # A kick or a move arrives as a voice state update too, which names the reason;
            # only a connection that is simply gone ends up here.
            self._run("lost", self._stop_if_still_lost())

    async def _stop_if_still_lost(self) -> None:
        await asyncio.sleep(LOST_GRACE_S)
        if self.voice is None or not self.voice.is_connected():
            await self.stop(STOPPED_FAILED.format(reason="the voice connection was lost."), fade=False)

    async def play(self, track: Track, started_by: int) -> None:
        """Crossfade into ``track`` (equal power, no gap: the same stream goes on)."""
        loop = await self._loop_of(track)
        assert self.mixer is not None
        self.mixer.switch(loop, self.kit.config.crossfade_s)
        self.state = dataclasses.replace(self.state, track=track, started_by=started_by)
        if self.state.paused:
            await self.set_paused(False)
        else:
            await self._changed()
        log.info("guild %d: crossfading to %r", self.guild_id, track.title)

    async def move_to(self, channel: discord.VoiceChannel | discord.StageChannel) -> None:
        assert self.voice is not None
        await self.voice.move_to(channel)
        await self.moved(channel.id)

    # -- controls ------------------------------------------------------------------------------

    async def set_volume(self, level: int) -> None:
        assert self.mixer is not None
        self.mixer.set_volume(level / 100)
        self.state = dataclasses.replace(self.state, volume=level)
        await self._changed()

    async def set_paused(self, paused: bool) -> None:
        assert self.mixer is not None and self.voice is not None
        if paused == self.state.paused:
            return
        self.state = dataclasses.replace(self.state, paused=paused)
        if paused:
            self.mixer.pause()
            self._run("pause", self._pause_when_silent())
        else:
            self._cancel("pause")
            self.voice.resume()
            self.mixer.resume()
        await self._changed()

    async def _pause_when_silent(self) -> None:
        # The mix glides to silence first; then the stream itself pauses (no packets, not speaking).
        await asyncio.sleep(PAUSE_RAMP_S + 0.05)
        if self.state.paused and self.voice is not None:
            self.voice.pause()

    async def set_sleep(self, seconds: float | None) -> None:
        assert self.mixer is not None
        self._cancel("sleep")
        if self._sleep_fading:  # the old timer had begun its fade-out: come back up
            self._sleep_fading = False
            self.mixer.cancel_fade()
        at = None if seconds is None else time.time() + seconds
        self.state = dataclasses.replace(self.state, sleep_at=at)
        self._schedule_sleep()
        await self._changed()

    def _schedule_sleep(self) -> None:
        if self.state.sleep_at is not None:
            self._run("sleep", self._sleep_until(self.state.sleep_at))

    async def _sleep_until(self, at: float) -> None:
        fade = sleep_fade_s(at - time.time())
        await asyncio.sleep(max(0.0, at - time.time() - fade))
        if self.mixer is not None and fade > 0:
            self._sleep_fading = True
            self.mixer.fade_out(fade)
        await asyncio.sleep(max(0.0, at - time.time()))
        await self.stop(STOPPED_SLEEP, fade=False)

    # -- who is listening ------------------------------------------------------------------------

    def check_listeners(self) -> None:
        """Start the empty-channel countdown when nobody but bots listens; cancel it when someone does."""
        channel = self.channel()
        members = getattr(channel, "members", [])
        if any(not member.bot for member in members):
            self._cancel("empty")
        elif "empty" not in self._tasks and not self.closing:
            self._run("empty", self._leave_when_empty())

    async def _leave_when_empty(self) -> None:
        await asyncio.sleep(self.kit.config.empty_timeout_s)
        await self.stop(STOPPED_EMPTY)

    async def moved(self, channel_id: int) -> None:
        """Someone moved the bot: play on there."""
        if channel_id == self.state.voice_channel_id:
            return
        self.state = dataclasses.replace(self.state, voice_channel_id=channel_id)
        self._cancel("empty")
        self.check_listeners()
        await self._changed()

    # -- stopping ----------------------------------------------------------------------------------

    async def stop(self, reason: str, *, fade: bool = True, forget: bool = True) -> None:
        """Fade out, leave, and (``forget``) clear the saved state and close the message."""
        if self.closing:
            return
        self.closing = True
        for name in list(self._tasks):
            if self._tasks[name] is not asyncio.current_task():
                self._cancel(name)
        try:
            if fade and self.mixer is not None and self.voice is not None and self.voice.is_playing():
                self.mixer.fade_out(STOP_FADE_S)
                await asyncio.sleep(STOP_FADE_S)  # real time: the fade is being heard
            if self.voice is not None:
                try:
                    # Waits for Discord to confirm; a kicked bot is confirmed already.
                    await asyncio.wait_for(self.voice.disconnect(force=True), DISCONNECT_TIMEOUT_S)
                except TimeoutError:
                    log.warning("guild %d: leaving voice was not confirmed in time", self.guild_id)
            if self.mixer is not None:
                self.mixer.close()
            if forget:
                await self.kit.store.delete(self.guild_id)
                await self.kit.store.drop_requests(self.guild_id)
                await self.kit.announcer.closed(self.state, reason)
                log.info("guild %d: stopped (%s)", self.guild_id, reason)
        finally:
            self.closed.set()
            self.kit.closed(self.guild_id)

    # -- plumbing ------------------------------------------------------------------------------------

    def _run(self, name: str, coro: Awaitable[None]) -> None:
        self._cancel(name)
        task = spawn(coro, f"voice-{name}-{self.guild_id}")
        self._tasks[name] = task
        task.add_done_callback(lambda t: self._tasks.pop(name, None) if self._tasks.get(name) is t else None)

    def _cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    async def _changed(self) -> None:
        """Save the state and show it; the message id is saved once the message exists."""
        await self.kit.store.save(self.state)
        message_id = await self.kit.announcer.show(self.state)
        if message_id != self.state.message_id:
            self.state = dataclasses.replace(self.state, message_id=message_id)
            await self.kit.store.save(self.state)
