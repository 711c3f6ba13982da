"""Retention: prune expired MP3s at start and then daily (``[storage] retention_days``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

if TYPE_CHECKING:
    from bot.app import AmbientBot

log = logging.getLogger(__name__)


class RetentionCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.pruner.enabled:
            self.prune.start()  # the first run is now, at start
        else:
            log.info("retention: keeping generated files forever ([storage] retention_days = 0)")

    async def cog_unload(self) -> None:
        self.prune.cancel()

    @tasks.loop(hours=24)
    async def prune(self) -> None:
        try:
            await self.bot.pruner.prune()
        except Exception:  # a failed run must not stop tomorrow's
            log.exception("retention: pruning failed; trying again in a day")


async def setup(bot: AmbientBot) -> None:
    await bot.add_cog(RetentionCog(bot))
