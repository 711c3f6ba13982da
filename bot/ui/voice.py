"""Texts and embeds of voice playback: the now-playing card and the answers to voice commands."""

from __future__ import annotations

import discord

from bot.storage.players import PlayerState, TrackKind
from bot.ui.embeds import EMBED_COLOUR, clip
from bot.ui.library import escape
from bot.voice.timing import format_span

PLAY_EMOJI = "🔊"

NOT_IN_GUILD = "Voice playback works in servers: use it in a server's text channel."
JOIN_FIRST = "Join a voice channel first, then ask again: I'll play in the channel you're in."
NOT_A_SOUNDSCAPE = "That message isn't one of my soundscapes: use it on a result or a gallery post."
NOTHING_PLAYING = "Nothing is playing in this server. Start something with `/play`."
STOPPED_BY = "⏹️ Stopped by <@{user}>."
STOPPED_SLEEP = "😴 The sleep timer ended: good night."
STOPPED_EMPTY = "👋 Everyone left the voice channel, so I left too."
STOPPED_KICKED = "⏹️ I was disconnected from the voice channel."
STOPPED_GONE = "⏹️ The voice channel is gone or closed to me, so playback stopped."
STOPPED_FAILED = "⚠️ Playback stopped: {reason}"
TOO_MANY_PLAYERS = (
    "I'm already playing in as many servers as this bot allows ({limit}). "
    "Try again later, once one of them has stopped."
)

_ORIGIN = {
    TrackKind.JOB: "a result",
    TrackKind.HISTORY: "a history entry",
    TrackKind.GALLERY: "the gallery",
}


def voice_unavailable(detail: str) -> str:
    return f"Voice playback isn't available on this bot right now ({detail}). Everything else works."


def missing_permissions(channel_id: int, missing: list[str]) -> str:
    names = " and ".join(f"**{name}**" for name in missing)
    plural = "s" if len(missing) > 1 else ""
    return (
        f"I can't play in <#{channel_id}>: I'm missing the {names} permission{plural} there. "
        "Ask a moderator to allow it, or join another voice channel."
    )


def channel_full(channel_id: int) -> str:
    return f"<#{channel_id}> is full, so I can't join it."


def busy_elsewhere(channel_id: int) -> str:
    return (
        f"I'm already playing in <#{channel_id}> for the people there. Join that channel to change "
        "what plays, or ask them to `/stop` it."
    )


def not_a_listener(channel_id: int) -> str:
    return f"Only people listening in <#{channel_id}> can change what plays there."


def title_of(text: str) -> str:
    """A prompt shown safely: no markdown tricks, no pings, within an embed title."""
    return clip(escape(text), 200)


def sleep_text(state: PlayerState) -> str:
    if state.sleep_at is None:
        return "off"
    at = int(state.sleep_at)
    return f"<t:{at}:t> (<t:{at}:R>)"


def now_playing_embed(state: PlayerState) -> discord.Embed:
    """The one message that shows what plays, kept current by every change."""
    paused = "⏸️ Paused" if state.paused else "▶️ Playing, looping seamlessly"
    embed = discord.Embed(
        title=f"{PLAY_EMOJI} {title_of(state.track.title)}",
        description=f"{paused} in <#{state.voice_channel_id}>",
        colour=EMBED_COLOUR,
    )
    embed.add_field(name="Volume", value=f"{state.volume} %")
    embed.add_field(name="Sleep timer", value=sleep_text(state))
    embed.add_field(name="From", value=f"{_ORIGIN[state.track.kind]}, started by <@{state.started_by}>")
    embed.set_footer(text="/volume 0–100 · /sleep 30m · /stop")
    return embed


def stopped_embed(state: PlayerState, reason: str) -> discord.Embed:
    return discord.Embed(
        title=f"{PLAY_EMOJI} {title_of(state.track.title)}", description=reason, colour=EMBED_COLOUR
    )


def started_text(title: str, channel_id: int, *, switched: bool) -> str:
    verb = "Crossfading to" if switched else "Playing"
    return f"{PLAY_EMOJI} {verb} **{title_of(title)}** in <#{channel_id}>."


def could_not_play(user_id: int, title: str, reason: str) -> str:
    return f"⚠️ <@{user_id}> I couldn't play **{title_of(title)}** in voice: {reason}"


def queued_for_voice(channel_id: int) -> str:
    return f"It will start playing in <#{channel_id}> as soon as it's ready."


def volume_text(level: int) -> str:
    return f"🔉 Volume {level} %." if level < 50 else f"🔊 Volume {level} %."


def sleep_answer(seconds: float | None) -> str:
    if seconds is None:
        return "⏰ Sleep timer off: it plays until someone stops it."
    fade = " (fading out over its last 30 s)" if seconds > 30 else ""
    return f"😴 Sleep timer set: I'll stop in {format_span(seconds)}{fade}."
