"""The real ``ambientgen run`` process, with the tiny model, against the Discord stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.processes import descendants, still_running
from tests.standin import DiscordStandIn, Guild, User

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
#: The bot process needs a few seconds to import torch and build the tiny model.
START_TIMEOUT_S = 120.0
#: Milliseconds every tiny-model step waits in every end-to-end bot (``[model]
#: test_step_delay_ms``): run the suite with 0 and with e.g. 200 to show that no test depends on
#: how fast the model is.
STEP_DELAY_ENV = "AMBIENTGEN_E2E_STEP_DELAY_MS"
#: OpenMP threads of the bot process (``OMP_NUM_THREADS``); a process that must render the same
#: samples as the bot (the CLI parity check) gets the same.
TORCH_THREADS = "1"
#: Seconds the processes a bot started (its audio worker, the resource tracker) get to end after
#: the bot has: they watch it and go within a second, however it went.
LEFTOVER_TIMEOUT_S = 10.0


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table, e.g. one of [model] also
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
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
    #: More guilds the bot syncs its commands to (tests about several servers).
    other_guilds: list[Guild] = field(default_factory=list)
    #: Sync the commands globally (usable in DMs too) instead of to the test guilds.
    global_commands: bool = False
    #: Run with ``-v`` (debug logging, discord.py's included).
    verbose: bool = False
    #: pid → command line of every process seen below the bot, taken before each signal it gets
    #: (a SIGKILLed bot's children are handed to init, out of its tree): all must be gone at the end.
    children: dict[int, str] = field(default_factory=dict)

    @property
    def guilds(self) -> list[Guild]:
        return [self.guild, *self.other_guilds]

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.starts}.log"

    #: Log records (their first line) a test expects to be logged at ERROR or with a traceback.
    expected_errors: list[re.Pattern[str]] = field(default_factory=list)

    def expect_error(self, pattern: str) -> None:
        """Allow ERROR records (and tracebacks) whose first line matches ``pattern`` in this test."""
        self.expected_errors.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        """ERROR records and tracebacks in the bot's logs that no :meth:`expect_error` allowed."""
        return unexpected_records(self.log(), self.expected_errors)

    @property
    def fail_file(self) -> Path:
        """The tiny model's test-only fail file (``[model] test_fail_file``)."""
        return self.workdir / "fail"

    def fail_on(self, *texts: str) -> None:
        """Make the model fail on generations whose prompt contains one of ``texts`` (none: stop)."""
        _write_lines(self.fail_file, texts)

    @property
    def hold_file(self) -> Path:
        """The tiny model's test-only hold file (``[model] test_hold_file``)."""
        return self.workdir / "hold"

    def hold(self, *texts: str) -> None:
        """Hold every generation whose prompt contains one of ``texts`` after its current step.

        Replaces the previous hold: what it named and this call does not is released. A held job
        stays running (and shows its progress) until :meth:`release`, however fast the model.
        """
        _write_lines(self.hold_file, texts)

    def release(self) -> None:
        """Let every held generation go on."""
        self.hold()

    async def wait_for_log(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:  # noqa: ASYNC109
        """Wait until the bot's log (this start's) has a line matching ``pattern``."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if match := regex.search(text):
                return match
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no log line matching {pattern!r} within {timeout:g} s:\n{text[-3000:]}")
            # The log is a file written by another process: there is no event to wait on.
            await asyncio.sleep(0.05)

    def config(self) -> dict[str, dict[str, object]]:
        sections: dict[str, dict[str, object]] = {
            "discord": {
                "api_base_url": self.standin.api_base_url,
                "command_guilds": [] if self.global_commands else [str(g.id) for g in self.guilds],
            },
            "model": {
                "id": "tiny",
                "device": "cpu",
                "test_hold_file": str(self.hold_file),
                "test_step_delay_ms": int(os.environ.get(STEP_DELAY_ENV, "0") or 0),
                "test_fail_file": str(self.fail_file),
            },
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
            "OMP_NUM_THREADS": TORCH_THREADS,
            # The stand-in's voice gateway speaks wss:// with a certificate of its own authority.
            "SSL_CERT_FILE": str(self.standin.voice_ca_file),
        }
        flags = ["-v"] if self.verbose else []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *flags, "run", "--config", str(config_path),
            cwd=REPO, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        readies_before = self._readies()
        await self.standin.wait_until(
            lambda: self._ready(readies_before) or self._exited(), timeout=START_TIMEOUT_S
        )
        if self.process.returncode is not None:
            raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log()}")

    def _exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    def _readies(self) -> int:
        return sum(1 for f in self.standin.gateway_frames if f.direction == "send" and f.t == "READY")

    @property
    def shards(self) -> int:
        """Gateway sessions this bot opens: its ``shard_ids``, else ``shard_count``, else Discord's advice."""
        discord = self.config()["discord"]
        ids = discord.get("shard_ids")
        return len(ids) if ids else int(discord.get("shard_count") or self.standin.recommended_shards)  # type: ignore[arg-type]

    def _ready(self, readies_before: int) -> bool:
        # Commands synced to the test guilds and a new gateway session READY on every shard: the
        # bot is serving (an interaction for a guild whose shard is not connected would be lost).
        scopes: list[int | None] = [None] if self.global_commands else [g.id for g in self.guilds]
        synced = all(
            {"ambient", "queue", "cancel", "presets"} <= {c["name"] for c in self.standin.commands(scope)}
            for scope in scopes
        )
        return synced and self._readies() - readies_before >= self.shards

    def note_children(self) -> None:
        """Remember the processes the bot runs now (see :attr:`children`)."""
        if self.process is not None and self.process.returncode is None:
            self.children.update(descendants(self.process.pid))

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the bot (if it still runs) without waiting for it to exit."""
        assert self.process is not None
        if self.process.returncode is None:
            self.note_children()
            self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the bot now, without waiting (e.g. from a stand-in fault's callback)."""
        self.send_signal(signal.SIGKILL)

    async def leftovers(self) -> dict[int, str]:
        """The bot's processes still running :data:`LEFTOVER_TIMEOUT_S` after it exited; killed,
        so that a failing test leaves nothing behind either."""
        left = await asyncio.to_thread(still_running, self.children, LEFTOVER_TIMEOUT_S)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return left

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        self.send_signal(sig)
        return await self.wait_exit(timeout)

    async def wait_exit(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """The bot's exit status, once it has exited."""
        assert self.process is not None
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


_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ level=")


def unexpected_records(log: str, expected: list[re.Pattern[str]]) -> list[str]:
    """ERROR records and tracebacks in ``log`` (a bot's or a worker's) that no pattern allows."""
    records: list[list[str]] = []
    for line in log.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    problems = []
    for record in records:
        head = record[0]
        bad = "level=ERROR" in head or "level=CRITICAL" in head or any("Traceback" in r for r in record)
        if bad and not any(p.search(head) for p in expected):
            problems.append("\n".join(record[:12]))
    return problems


def _write_lines(path: Path, lines: tuple[str, ...]) -> None:
    """Replace ``path`` with ``lines`` atomically (none: delete it), so a reader never sees half."""
    if not lines:
        path.unlink(missing_ok=True)
        return
    partial = path.with_suffix(".partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(partial, path)


@dataclass
class World:
    standin: DiscordStandIn
    guild: Guild
    channel_id: int
    alice: User
    bob: User
    carol: User
    bot: BotProcess
    #: A second server with the same three members (``running_world(..., second_guild=True)``).
    other_guild: Guild | None = None
    #: GPU worker processes and their Redis (``tests/e2e/remote.py``), when the bot uses them.
    workers: list[Any] = field(default_factory=list)
    redis: Any = None


@contextlib.asynccontextmanager
async def running_world(
    workdir: Path,
    overrides: dict[str, dict[str, object]] | None = None,
    *,
    second_guild: bool = False,
    global_commands: bool = False,
    verbose: bool = False,
    guild_name: str = "Ambient Test Server",
    shards: int = 1,
) -> AsyncIterator[World]:
    """A stand-in with a server (two with ``second_guild``) and the bot logged in to it.

    With ``shards`` > 1 the stand-in recommends that many shards and the servers lie on shards
    0 and 1, so a second server's events reach the bot through its second gateway session.
    """
    async with DiscordStandIn(token="e2e-token", shards=shards, max_concurrency=shards) as standin:
        guild = standin.add_guild(guild_name, shard=0 if shards > 1 else None)
        other = standin.add_guild("Other Server", shard=1 if shards > 1 else None) if second_guild else None
        users = [standin.make_user(name) for name in ("alice", "bob", "carol")]
        for user in users:
            for each in (guild, other):
                if each is not None:
                    standin.add_member(each.id, user)
        bot = BotProcess(
            standin,
            workdir,
            guild,
            overrides or {},
            other_guilds=[other] if other else [],
            global_commands=global_commands,
            verbose=verbose,
        )
        passed = False
        try:
            await bot.start()
            channel_id = standin.text_channel(guild.id).id
            yield World(standin, guild, channel_id, *users, bot=bot, other_guild=other)
            passed = True
        finally:
            if bot.process is not None and bot.process.returncode is None:
                try:
                    await bot.stop()
                except TimeoutError:
                    bot.kill()
                    await bot.process.wait()
            left = await bot.leftovers()
        errors = standin.internal_errors
        assert not errors, f"the stand-in failed internally: {errors!r}"
        # Checked only when the test itself passed (a failing test reports its own error first).
        unexpected = bot.unexpected_errors() if passed else []
        assert not unexpected, "the bot logged errors the test did not expect:\n" + "\n---\n".join(unexpected)
        assert not left, f"the bot left processes running after it exited: {left}"


class BackgroundWorld:
    """A running world on an event loop of its own thread, so synchronous code (hypothesis) can
    drive it: ``run(coroutine)`` waits for the coroutine's result there."""

    def __init__(
        self, workdir: Path, overrides: dict[str, dict[str, object]] | None = None, **options: Any
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-loop", daemon=True)
        self.thread.start()
        self._context = running_world(workdir, overrides, **options)
        self.world: World = self.run(self._context.__aenter__(), timeout=180)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.run(self._context.__aexit__(None, None, None), timeout=120)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
