"""Every cog loads into the real bot, and no command name or component template clashes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.app import AmbientBot
from bot.cogs import EXTENSIONS
from bot.config import load_config
from bot.jobs.local_executor import LocalExecutor
from bot.storage import Database
from generation.audio.finishing import FinishSettings
from generation.executor import GpuExecutor

#: One custom id of every kind the bot puts on messages; each must match exactly one template.
SAMPLE_IDS = (
    "ambientgen:reroll:12",
    "ambientgen:hist:prev:1234:0::",
    "ambientgen:hist:next:1234:2:rain:a: search",
    "ambientgen:hist:pick:1234",
    *(f"ambientgen:hist:{a}:5" for a in ("replay", "reroll", "tweak", "share", "delete", "erase")),
    "ambientgen:gal:prev:top:week:0::",
    "ambientgen:gal:next:new:all:3:forest-night:owls",
    "ambientgen:gal:pick",
    *(f"ambientgen:gal:{a}:5" for a in ("play", "reroll", "remove", "add")),
    *(f"ambientgen:voice:{a}:123456789012345678" for a in ("pause", "down", "up", "sleep", "stop")),
    *(f"ambientgen:voice:play:{kind}:42" for kind in ("job", "gen", "gal")),
)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[AmbientBot]:
    async with Database.open(tmp_path / "db.sqlite3") as db:
        gpu = GpuExecutor(lambda: None)  # type: ignore[arg-type, return-value]
        executor = LocalExecutor(gpu, FinishSettings())
        instance = AmbientBot(config=load_config(None), db=db, executor=executor)
        for extension in EXTENSIONS:
            await instance.load_extension(extension)
        yield instance
        for extension in EXTENSIONS:
            await instance.unload_extension(extension)


def _commands(bot: AmbientBot) -> list[app_commands.Command | app_commands.Group]:  # type: ignore[type-arg]
    return list(bot.tree.get_commands())


async def test_commands_are_unique_and_described(bot: AmbientBot) -> None:
    names = [command.name for command in _commands(bot)]
    assert len(names) == len(set(names))
    assert {"ambient", "history", "gallery"} <= set(names)
    groups = {c.name: c for c in _commands(bot) if isinstance(c, app_commands.Group)}
    assert {c.name for c in groups["history"].commands} == {"list", "export"}
    assert {c.name for c in groups["gallery"].commands} == {"browse", "top"}
    assert groups["gallery"].guild_only
    voice = {c.name: c for c in _commands(bot) if c.name in ("play", "volume", "stop", "sleep")}
    assert set(voice) == {"play", "volume", "stop", "sleep"} and all(c.guild_only for c in voice.values())
    menus = bot.tree.get_commands(type=discord.AppCommandType.message)
    assert [(m.name, m.guild_only) for m in menus] == [("Play in voice", True)]
    for command in bot.tree.walk_commands():
        assert command.description and command.description != "…", command.qualified_name
        if isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                assert parameter.description and parameter.description != "…", (command.name, parameter.name)


async def test_every_component_id_has_exactly_one_handler(bot: AmbientBot) -> None:
    templates = list(bot._connection._view_store._dynamic_items)  # what discord.py dispatches on
    for custom_id in SAMPLE_IDS:
        assert len(custom_id) <= 100
        matching = [t.pattern for t in templates if isinstance(t, re.Pattern) and t.fullmatch(custom_id)]
        assert len(matching) == 1, (custom_id, matching)
