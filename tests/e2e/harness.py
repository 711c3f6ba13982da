"""The real ``ambientgen run`` process, with the tiny model, against the Discord stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.standin import DiscordStandIn, Guild, User

REPO = Path(__file__).resolve().parents[2]
#: The bot process needs a few seconds to import torch and build the tiny model.
START_TIMEOUT_S = 120.0


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def write_config(path: Path, sections: dict[str, dict[str, object]]) -> None:
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


@dataclass
class BotProcess:
    """One ``ambientgen run`` child process and its log."""

    standin: DiscordStandIn
    workdir: Path
    guild: Guild
    overrides: dict[str, dict[str, object]] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.starts}.log"

    def config(self) -> dict[str, dict[str, object]]:
        sections: dict[str, dict[str, object]] = {
            "discord": {"api_base_url": self.standin.api_base_url, "command_guilds": [str(self.guild.id)]},
            "model": {"id": "tiny", "device": "cpu"},
            "storage": {"data_dir": str(self.data_dir)},
        }
        for section, values in self.overrides.items():
            sections.setdefault(section, {}).update(values)
        return sections

    async def start(self) -> None:
        self.starts += 1
        config_path = self.workdir / "config.toml"
        write_config(config_path, self.config())
        log = self.log_path.open("wb")
        env = {
            **os.environ,
            "DISCORD_TOKEN": self.standin.token,
            "PYTHONUNBUFFERED": "1",
            # One torch thread leaves the second core to the event loop and the stand-in.
            "OMP_NUM_THREADS": "1",
        }
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--config", str(config_path),
            cwd=REPO, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        sessions_before = len(self.standin.sessions)
        await self.standin.wait_until(
            lambda: self._ready(sessions_before) or self._exited(), timeout=START_TIMEOUT_S
        )
        if self.process.returncode is not None:
            raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log()}")

    def _exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    def _ready(self, sessions_before: int) -> bool:
        # Commands synced to the test guild and a gateway session identified: the bot is serving.
        commands = {c["name"] for c in self.standin.commands(self.guild.id)}
        return {"ambient", "queue", "cancel", "presets"} <= commands and len(
            self.standin.sessions
        ) > sessions_before

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout)

    def log(self) -> str:
        return "\n".join(
            (self.workdir / f"bot-{i}.log").read_text(errors="replace")
            for i in range(1, self.starts + 1)
            if (self.workdir / f"bot-{i}.log").exists()
        )

    def worst_loop_stall_ms(self) -> float:
        stalls = [float(m) for m in re.findall(r"event loop stall: new worst ([\d.]+) ms", self.log())]
        return max(stalls, default=0.0)

    def db_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with contextlib.closing(sqlite3.connect(self.data_dir / "ambientgen.sqlite3")) as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()


@dataclass
class World:
    standin: DiscordStandIn
    guild: Guild
    channel_id: int
    alice: User
    bob: User
    carol: User
    bot: BotProcess


@contextlib.asynccontextmanager
async def running_world(
    workdir: Path, overrides: dict[str, dict[str, object]] | None = None
) -> AsyncIterator[World]:
    async with DiscordStandIn(token="e2e-token") as standin:
        guild = standin.add_guild("Ambient Test Server")
        users = [standin.make_user(name) for name in ("alice", "bob", "carol")]
        for user in users:
            standin.add_member(guild.id, user)
        bot = BotProcess(standin, workdir, guild, overrides or {})
        try:
            await bot.start()
            yield World(standin, guild, standin.text_channel(guild.id).id, *users, bot=bot)
        finally:
            if bot.process is not None and bot.process.returncode is None:
                try:
                    await bot.stop()
                except TimeoutError:
                    bot.process.kill()
                    await bot.process.wait()
            errors = standin.internal_errors
            assert not errors, f"the stand-in failed internally: {errors!r}"
