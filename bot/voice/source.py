"""The player's mix as a discord.py ``AudioSource``: 20 ms of PCM per read, encoded by discord.py."""

from __future__ import annotations

import discord

from bot.voice.mixer import LoopMixer


class MixerSource(discord.AudioSource):
    """Never ends by itself: the player stops it (stop, sleep, leaving)."""

    def __init__(self, mixer: LoopMixer) -> None:
        self.mixer = mixer

    def read(self) -> bytes:
        return self.mixer.read_pcm()

    def is_opus(self) -> bool:
        return False  # raw PCM: discord.py's own Opus encoder (libopus) encodes it
