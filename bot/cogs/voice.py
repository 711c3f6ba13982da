"""Live playback in voice: ``/play``, **Play in voice**, ``/volume``, ``/stop``, ``/sleep``.

The players themselves live in :mod:`bot.voice`; this cog turns commands and Discord events
into calls on them. Every refusal (not in voice, missing Connect or Speak, no libopus) is
checked before anything is queued or joined, and shown privately.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.options import length_autocomplete
from bot.errors import defer_private
from bot.storage import Job
from bot.storage.players import PlayerStore
from bot.ui.voice import STOPPED_BY, queued_for_voice, sleep_answer, started_text, volume_text
from bot.voice.controls import PlayInVoiceButton, VoiceControlButton, control_view
from bot.voice.player import spawn
from bot.voice.players import COG_NAME, Players
from bot.voice.support import load_voice_support
from bot.voice.timing import parse_sleep
from bot.voice.tracks import Tracks
from generation.recipes.recipe import build_order

if TYPE_CHECKING:
    from bot.app import AmbientBot

log = logging.getLogger(__name__)

#: Offered while typing ``/sleep after:``.
SLEEP_SUGGESTIONS = ("15m", "30m", "45m", "1h", "1h 30m", "2h", "off")


async def sleep_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    typed = current.strip().lower()
    return [app_commands.Choice(name=s, value=s) for s in SLEEP_SUGGESTIONS if s.startswith(typed)][:25]


class VoiceCog(commands.Cog, name=COG_NAME):
    def __init__(self, bot: AmbientBot, players: Players) -> None:
        self.bot = bot
        self.players = players
        self.menu = app_commands.ContextMenu(name="Play in voice", callback=self.play_message)
        self.menu.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)
        self._restoring = spawn(self._restore_players(), "voice-restore")

    async def _restore_players(self) -> None:
        await self.bot.wait_until_ready()
        if self.players.support.available:
            await self.players.restore()

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self._restoring.cancel()
        await self.players.shutdown()

    # -- starting --------------------------------------------------------------------------------

    @app_commands.command(name="play")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What to hear, e.g. 'rain on a tent at night' — made as a seamless loop",
        length="Optional: a longer loop, e.g. 2m or 5m (up to 10 minutes)",
    )
    @app_commands.autocomplete(length=length_autocomplete)
    async def play(self, interaction: discord.Interaction, prompt: str, length: str | None = None) -> None:
        """Play a soundscape on a seamless loop in your voice channel."""
        # Instant checks first: nothing is queued for someone who can't be played to.
        channel = self.players.destination(interaction.user, interaction.guild)
        request, recipe = build_order(prompt, loop=True, length=length)
        deferred = await interaction.response.defer(thinking=True)
        job = await self.bot.service.submit_command(
            interaction, request, 1, recipe=recipe, placeholder_id=deferred.message_id if deferred else None
        )
        text_channel = interaction.channel_id or channel.id
        await self.players.after_job(job, channel, text_channel, interaction.user.id)
        await interaction.followup.send(queued_for_voice(channel.id), ephemeral=True)

    async def play_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Play the soundscape of a result (or a gallery post) in your voice channel."""
        channel = self.players.destination(interaction.user, interaction.guild)
        await defer_private(interaction)
        track = await self.players.tracks.of_message(message.id, interaction.guild_id)
        switched = await self.players.play(channel, message.channel.id, track, interaction.user.id)
        await interaction.followup.send(
            started_text(track.title, channel.id, switched=switched), ephemeral=True
        )

    # -- controls ----------------------------------------------------------------------------------

    @app_commands.command(name="volume")
    @app_commands.guild_only()
    @app_commands.describe(level="0 (silent) to 100 (the soundscape's own level)")
    async def volume(self, interaction: discord.Interaction, level: app_commands.Range[int, 0, 100]) -> None:
        """Change the voice playback volume; it glides there smoothly."""
        player = self.players.controlled(interaction.guild_id, interaction.user)
        await defer_private(interaction)
        await player.set_volume(level)
        await interaction.followup.send(volume_text(level), ephemeral=True)

    @app_commands.command(name="stop")
    @app_commands.guild_only()
    async def stop(self, interaction: discord.Interaction) -> None:
        """Stop playing and leave the voice channel."""
        player = self.players.controlled(interaction.guild_id, interaction.user)
        await defer_private(interaction)
        await self.players.stop(player, STOPPED_BY.format(user=interaction.user.id))
        await interaction.followup.send("⏹️ Stopped.", ephemeral=True)

    @app_commands.command(name="sleep")
    @app_commands.guild_only()
    @app_commands.describe(after="When to stop, e.g. 30m, 1h, 1h 30m — or off")
    @app_commands.autocomplete(after=sleep_autocomplete)
    async def sleep(self, interaction: discord.Interaction, after: str) -> None:
        """Fade out and leave after a while (the last 30 s fade out)."""
        player = self.players.controlled(interaction.guild_id, interaction.user)
        seconds = parse_sleep(after)
        await defer_private(interaction)
        await player.set_sleep(seconds)
        await interaction.followup.send(sleep_answer(seconds), ephemeral=True)

    # -- events --------------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ambientgen_job_delivered(self, job: Job, message_id: int) -> None:
        await self.players.delivered(job)

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        await self.players.voice_state_changed(member, before, after)


async def setup(bot: AmbientBot) -> None:
    support = load_voice_support()
    if support.available:
        log.info("voice playback ready: %s", support.detail)
    else:
        log.warning("voice playback unavailable: %s", support.detail)
    store = PlayerStore(bot.db)
    tracks = Tracks(
        jobs=bot.jobs, generations=bot.generations, library=bot.library, files=bot.files, players=store
    )
    players = Players(
        client=bot,
        files=bot.files,
        store=store,
        config=bot.config.voice,
        trim_s=(bot.config.audio.fade_in_s, bot.config.audio.fade_out_s),
        tracks=tracks,
        jobs=bot.jobs,
        support=support,
        controls=control_view,
    )
    bot.add_dynamic_items(VoiceControlButton, PlayInVoiceButton)
    await bot.add_cog(VoiceCog(bot, players))
