"""``[voice] max_players``: one more server is refused with a clear line; playing servers may switch."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.config import VoiceConfig
from bot.errors import UserError
from bot.storage import Mp3Files
from bot.storage.players import PlayerState, Track, TrackKind
from bot.voice.player import Player
from bot.voice.players import Players
from bot.voice.support import VoiceSupport


def players(tmp_path: Path, limit: int) -> Players:
    return Players(
        client=discord.Client(intents=discord.Intents.none()),
        files=Mp3Files(tmp_path),
        store=None,  # type: ignore[arg-type]  # not reached: capacity is checked before any storage
        config=VoiceConfig(max_players=limit),
        trim_s=(0.05, 0.25),
        tracks=None,  # type: ignore[arg-type]
        jobs=None,  # type: ignore[arg-type]
        support=VoiceSupport(True, "test"),
        controls=lambda state: discord.ui.View(),
    )


def playing(all_players: Players, guild_id: int) -> None:
    track = Track(TrackKind.JOB, 1, "rain", "ab/cd.mp3", True)
    state = PlayerState(guild_id, 10, 20, track, 70, 1)
    all_players._players[guild_id] = Player(all_players.kit, state)


async def test_a_server_over_the_limit_is_refused_and_playing_ones_may_switch(tmp_path: Path) -> None:
    all_players = players(tmp_path, limit=2)
    all_players.check_capacity(1)
    playing(all_players, 1)
    playing(all_players, 2)
    all_players.check_capacity(1)  # a server already playing switches what it plays
    with pytest.raises(UserError, match=r"as many servers as this bot allows \(2\)"):
        all_players.check_capacity(3)
    del all_players._players[2]  # one stopped: room again
    all_players.check_capacity(3)
