"""``ambientgen run``: configuration, model, database and bot, each with a clear failure line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import discord

from bot.config import Config, ConfigError, load_config

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
DATABASE_NAME = "ambientgen.sqlite3"


def _fail(message: str, status: int = 2) -> int:
    print(f"ambientgen: {message}", file=sys.stderr)
    return status


def run_bot(config_path: Path | None) -> int:
    """Run until stopped; returns the exit status."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return _fail(str(exc))
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return _fail(f"{TOKEN_ENV} is not set: export the bot token from the Discord developer portal first.")
    # discord.py builds every REST URL (and so the gateway lookup) from this base.
    discord.http.Route.BASE = config.discord.api_base_url
    log.info("config: %s", config.summary())
    try:
        return asyncio.run(_serve(config, token))
    except KeyboardInterrupt:
        return 130


async def _serve(config: Config, token: str) -> int:
    from bot.app import AmbientBot
    from bot.storage import Database
    from generation.backends.base import Backend
    from generation.backends.registry import load_backend
    from generation.errors import ModelUnavailable
    from generation.executor import GpuExecutor
    from generation.prompting import warm_up_request

    config.storage.data_dir.mkdir(parents=True, exist_ok=True)

    def load_warm() -> Backend:
        # Warm up on the GPU thread, before any user's job: CUDA's lazy start, the torch.compile
        # of the UNet (when enabled) and the memory measurement that sizes automatic batches.
        engine = load_backend(config.model.engine_settings())
        seconds = engine.warm_up(warm_up_request(), (1, 2) if engine.compiled else (1,))
        log.info("warm-up done in %.1fs (batch size now %d)", seconds, engine.max_batch(10.0))
        return engine

    executor = GpuExecutor(load_warm, stall_timeout_s=config.queue.job_timeout_s)
    try:
        # Load the model before logging in: a bad model id fails fast, before users see the bot.
        await executor.start()
    except ModelUnavailable as exc:
        await executor.close()
        return _fail(str(exc), 3)
    try:
        async with Database.open(config.storage.data_dir / DATABASE_NAME) as db:
            bot = AmbientBot(config=config, db=db, executor=executor)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, lambda s=signum: _request_stop(bot, s))
            try:
                async with bot:
                    await bot.start(token)
            except discord.LoginFailure:
                return _fail(f"Discord rejected the token in {TOKEN_ENV}.")
            except discord.PrivilegedIntentsRequired:
                return _fail("Discord refused the gateway intents the bot asked for.")
    finally:
        await executor.close()
    return 0


def _request_stop(bot: discord.Client, signum: int) -> None:
    log.info("received %s: shutting down gracefully", signal.Signals(signum).name)
    asyncio.get_running_loop().create_task(bot.close())
