"""Persistent buttons of voice playback: the now-playing controls and the *Play in voice* buttons.

Both are ``DynamicItem``s (their target lives in the custom id), so they work after a restart.
A custom id can be crafted: every click is checked against the clicker's server and voice
channel, never trusted; a result's button also against the message it is on (the same rule as
every other result control) and the clicker's right to see that channel.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import discord

from bot.errors import UserError, answering_errors, defer_private
from bot.storage.players import PlayerState
from bot.ui.components import job_of_message
from bot.ui.voice import PLAY_EMOJI, STOPPED_BY, started_text
from bot.voice.players import players_of
from bot.voice.timing import format_span

log = logging.getLogger(__name__)

VOLUME_STEP = 10
#: The sleep button steps through these (seconds), then turns the timer off.
SLEEP_STEPS = (30 * 60.0, 60 * 60.0, 120 * 60.0)

#: A result's *Play in voice* pressed where the clicker can't read (a crafted interaction).
CANNOT_SEE = "You can't see the channel that soundscape was posted in, so it can't be played from here."

#: action → (label, emoji, style); pause's label follows the state.
_LOOKS: dict[str, tuple[str, str, discord.ButtonStyle]] = {
    "pause": ("Pause", "⏸️", discord.ButtonStyle.primary),
    "down": ("−", "🔉", discord.ButtonStyle.secondary),
    "up": ("+", "🔊", discord.ButtonStyle.secondary),
    "sleep": ("Sleep", "😴", discord.ButtonStyle.secondary),
    "stop": ("Stop", "⏹️", discord.ButtonStyle.danger),
}


def next_sleep(remaining_s: float | None) -> float | None:
    """The sleep button's next setting: the first step clearly past what is left, then off."""
    for step in SLEEP_STEPS:
        # 5 minutes of slack: pressing again soon after "30 min" moves on to 1 h.
        if remaining_s is None or step > remaining_s + 300:
            return step
    return None


class VoiceControlButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ambientgen:voice:(?P<action>pause|down|up|sleep|stop):(?P<guild>\d+)",
):
    """One control of a server's now-playing message."""

    def __init__(self, action: str, guild_id: int, state: PlayerState | None = None) -> None:
        label, emoji, style = _LOOKS[action]
        if action == "pause" and state is not None and state.paused:
            label, emoji, style = "Resume", "▶️", discord.ButtonStyle.success
        if action == "sleep" and state is not None and state.sleep_at is not None:
            label = f"Sleep: {format_span(max(0.0, state.sleep_at - time.time()))}"
        super().__init__(
            discord.ui.Button(
                label=label, emoji=emoji, style=style, custom_id=f"ambientgen:voice:{action}:{guild_id}"
            )
        )
        self.action = action
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> VoiceControlButton:
        return cls(match["action"], int(match["guild"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, f"voice {self.action}"):
            if interaction.guild_id != self.guild_id:
                raise UserError("These controls belong to another server's player.")
            players = players_of(interaction.client)
            player = players.controlled(interaction.guild_id, interaction.user)
            await interaction.response.defer()  # the message itself shows the change
            state = player.state
            if self.action == "pause":
                await player.set_paused(not state.paused)
            elif self.action in ("down", "up"):
                step = VOLUME_STEP if self.action == "up" else -VOLUME_STEP
                await player.set_volume(min(100, max(0, state.volume + step)))
            elif self.action == "sleep":
                remaining = None if state.sleep_at is None else state.sleep_at - time.time()
                await player.set_sleep(next_sleep(remaining))
            else:
                await players.stop(player, STOPPED_BY.format(user=interaction.user.id))


def control_view(state: PlayerState) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in _LOOKS:
        view.add_item(VoiceControlButton(action, state.guild_id, state))
    return view


class PlayInVoiceButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ambientgen:voice:play:(?P<kind>job|gen|gal):(?P<id>\d+)",
):
    """*Play in voice* on a result card (``job``), a history card (``gen``) or a gallery card (``gal``)."""

    def __init__(self, kind: str, target_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Play in voice",
                emoji=PLAY_EMOJI,
                style=discord.ButtonStyle.secondary,
                custom_id=f"ambientgen:voice:play:{kind}:{target_id}",
            )
        )
        self.kind = kind
        self.target_id = target_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> PlayInVoiceButton:
        return cls(match["kind"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "play in voice"):
            if self.kind == "job":
                await posted_job(interaction, self.target_id)
            await defer_private(interaction)
            players = players_of(interaction.client)
            channel = players.destination(interaction.user, interaction.guild)
            if self.kind == "job":
                track = await players.tracks.of_job(self.target_id, interaction.guild_id)
            elif self.kind == "gen":
                track = await players.tracks.of_generation(interaction.user.id, self.target_id)
            else:
                track = await players.tracks.of_gallery(interaction.guild_id, self.target_id)
            text_channel = interaction.channel_id or channel.id
            switched = await players.play(channel, text_channel, track, interaction.user.id)
            await interaction.followup.send(
                started_text(track.title, channel.id, switched=switched), ephemeral=True
            )


async def posted_job(interaction: discord.Interaction, job_id: int) -> None:
    """Refuses a result's *Play in voice* unless it is on that result's own message (so a crafted id
    can't reach a result of another channel) and the clicker may view the channel it is in."""
    await job_of_message(interaction, job_id)
    # Discord resolves the clicker's permissions in the interaction's channel: the message's.
    if not interaction.permissions.view_channel:
        raise UserError(CANNOT_SEE)
