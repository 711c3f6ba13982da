"""``ambientgen run``: configuration, database, model and bot, each with a one-line failure.

Start order: the config, the data folder and the database (opened and migrated) first — they
take a moment and their problems need an operator — and only then the model, which can take
minutes and gigabytes (or, with ``[executor] kind = "redis"``, the connection to the GPU workers'
Redis: then no model is loaded here). Every expected problem ends the process with one line and a non-zero
status, never a traceback. SIGTERM (or Ctrl-C) shuts down gracefully, and always within the
grace period plus a few seconds, whatever happened before.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from bot.app import AmbientBot
    from bot.jobs.cpu_pool import CpuPool
    from bot.jobs.executor import Executor
from bot.logs import add_secret, use_format

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
DATABASE_NAME = "ambientgen.sqlite3"
#: Beyond the pipeline's grace period, how long shutting down may take before the process exits anyway.
EXIT_MARGIN_S = 10.0


def _fail(message: str, status: int = 2) -> int:
    print(f"ambientgen: {message}", file=sys.stderr)
    return status


def run_bot(config_path: Path | None) -> int:
    """Run until stopped; returns the exit status."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return _fail(str(exc))
    use_format(config.logging.format)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return _fail(f"{TOKEN_ENV} is not set: export the bot token from the Discord developer portal first.")
    add_secret(token)  # never in a log line, even at debug level
    # discord.py builds every REST URL (and so the gateway lookup) from this base.
    discord.http.Route.BASE = config.discord.api_base_url
    log.info("config: %s", config.summary())
    try:
        status = asyncio.run(_serve(config, token))
    except KeyboardInterrupt:
        status = 130
    _exit_if_threads_hang(status)
    return status


def _exit_if_threads_hang(status: int) -> None:
    """A model call that never returns keeps its thread, and would keep the process, alive."""
    stuck = [
        t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    for thread in stuck:
        thread.join(timeout=2.0)
    if any(t.is_alive() for t in stuck):
        log.warning("a worker thread is still busy at exit; leaving without waiting for it")
        logging.shutdown()
        os._exit(status)


def _open_data_dir(config: Config) -> str | None:
    """Why the data folder can't be used (one line), or None."""
    folder = config.storage.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".ambientgen-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return f"the data folder {folder} can't be written ({why}); check [storage] data_dir"
    return None


async def _serve(config: Config, token: str) -> int:
    from bot.storage import Database, SchemaVersionError

    problem = _open_data_dir(config)
    if problem:
        return _fail(problem)
    path = config.storage.data_dir / DATABASE_NAME
    try:
        db = await Database.open(path)
    except SchemaVersionError as exc:
        return _fail(str(exc))
    except sqlite3.DatabaseError as exc:
        return _fail(
            f"the database {path} can't be opened ({exc}); it may be damaged: restore it from a backup, "
            "or move it away to start with an empty one"
        )
    except OSError as exc:
        return _fail(f"the database {path} can't be opened ({exc.strerror or exc})")
    try:
        return await _serve_with(config, token, db)
    finally:
        await db.close()


async def _serve_with(config: Config, token: str, db: object) -> int:
    from bot import observed
    from bot.health import HealthUnavailable, start_health
    from bot.jobs.cpu_pool import CpuPool
    from bot.storage.identity import database_identity

    running: list[AmbientBot] = []
    waiting_for = "GPU workers (Redis)" if config.executor.remote else "the model to load"
    try:
        # First: /healthz answers while the model loads (a container's health check waits on it).
        health = await start_health(
            config.metrics.host,
            config.metrics.port,
            lambda: observed.bot_problem(running[0]) if running else f"starting: waiting for {waiting_for}",
        )
    except HealthUnavailable as exc:
        return _fail(str(exc))
    cpu = CpuPool()
    # Work handed to GPU workers is bound to this database (see bot.storage.identity).
    executor: Executor = _executor(config, cpu, await database_identity(db))  # type: ignore[arg-type]
    try:
        return await _serve_started(config, token, db, cpu, executor, running)
    finally:
        if health is not None:
            await health.stop()


async def _serve_started(
    config: Config, token: str, db: object, cpu: CpuPool, executor: Executor, running: list[AmbientBot]
) -> int:
    from bot.app import AmbientBot
    from bot.jobs.executor import ExecutorUnavailable
    from generation.errors import ModelUnavailable

    try:
        # Load the model (or reach Redis) before logging in: a bad model id or Redis URL fails
        # fast, before users see the bot.
        await executor.start()
    except (ModelUnavailable, ExecutorUnavailable) as exc:
        await executor.close()
        await cpu.close()
        return _fail(str(exc), 3)
    # Everything loaded so far (the libraries, the model's Python objects) lives as long as the
    # process: keep it out of the garbage collector's full passes, which would otherwise walk
    # millions of objects and stall the event loop for tens of milliseconds each time.
    gc.freeze()
    try:
        bot = AmbientBot(config=config, db=db, executor=executor, cpu=cpu)  # type: ignore[arg-type]
        running.append(bot)
        loop = asyncio.get_running_loop()
        stopping: list[asyncio.Task[None]] = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda s=signum: _request_stop(bot, s, stopping))
        try:
            async with bot:
                await bot.start(token)
        except discord.LoginFailure:
            return _fail(f"Discord rejected the token in {TOKEN_ENV}.")
        except discord.PrivilegedIntentsRequired:
            return _fail("Discord refused the gateway intents the bot asked for.")
    finally:
        await executor.close()
        await cpu.close()
        # With remote workers the model must never have been imported here (a test reads this).
        log.info("torch was %s in this process", "loaded" if "torch" in sys.modules else "never loaded")
    return 0


def _executor(config: Config, cpu: CpuPool, identity: str) -> object:
    """The model in this process, or GPU workers through Redis (``[executor] kind``); ``identity``
    is the database's."""
    if config.executor.remote:
        # No model here, and no torch either: the remote executor's modules never import it.
        from bot.remote.executor import RemoteExecutor

        return RemoteExecutor.from_config(config, identity)
    from bot.jobs.local_executor import build_local_executor

    return build_local_executor(config, offload=cpu.run)


def _request_stop(bot: discord.Client, signum: int, stopping: list[asyncio.Task[None]]) -> None:
    if stopping:
        log.info("received %s again: already shutting down", signal.Signals(signum).name)
        return
    from bot.jobs.pipeline import SHUTDOWN_GRACE_S

    log.info("received %s: shutting down gracefully", signal.Signals(signum).name)
    stopping.append(asyncio.get_running_loop().create_task(_close(bot, SHUTDOWN_GRACE_S + EXIT_MARGIN_S)))


async def _close(bot: discord.Client, limit_s: float) -> None:
    try:
        await asyncio.wait_for(bot.close(), limit_s)
    except TimeoutError:
        log.error("shutdown took longer than %.0f s; exiting without finishing it", limit_s)
        logging.shutdown()
        os._exit(1)
    except Exception:
        log.exception("shutdown failed; exiting")
        logging.shutdown()
        os._exit(1)
