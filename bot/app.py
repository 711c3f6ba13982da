"""The bot: a ``commands.Bot`` that owns the job machinery and loads one cog per feature."""

from __future__ import annotations

import logging

import discord
import discord.gateway
import yarl
from discord.ext import commands

from bot.cogs import EXTENSIONS
from bot.config import Config
from bot.errors import AmbientTree
from bot.jobs.cpu_pool import CpuPool
from bot.jobs.executor import Executor
from bot.jobs.pipeline import SHUTDOWN_GRACE_S, Pipeline, Stores
from bot.library import Library, Pruner
from bot.monitor import LoopMonitor
from bot.storage import Database, GalleryStore, HistoryStore, Job, JobStatus, RetentionStore, UserStore
from bot.token_sweep import TokenSweeper

log = logging.getLogger(__name__)


class AmbientBot(commands.Bot):
    """Dependencies come in through the constructor; the runner owns their lifetimes."""

    def __init__(
        self, *, config: Config, db: Database, executor: Executor, cpu: CpuPool | None = None
    ) -> None:
        # Default intents cover guilds and reactions; no message content or member list needed.
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            tree_cls=AmbientTree,
            help_command=None,
            # Nothing the bot echoes back (prompts, names) may ping anyone unless allowed per message.
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.config = config
        self.db = db
        self.executor = executor
        stores = Stores.open(db, config)
        self.jobs = stores.jobs
        self.generations = stores.generations
        self.files = stores.files
        self.stems = stores.stems
        self.pipeline = Pipeline(self, config, stores, executor, self._result_view, cpu)
        self.queue = self.pipeline.queue
        self.messenger = self.pipeline.messenger
        self.scheduler = self.pipeline.scheduler
        self.service = self.pipeline.service
        self.monitor = LoopMonitor()
        self.known_users = UserStore(db)
        self.library = Library(
            history=HistoryStore(db), gallery=GalleryStore(db), files=self.files, stems=self.stems
        )
        self.pruner = Pruner(RetentionStore(db), self.files, config.storage.retention_days, stems=self.stems)
        self.token_sweeper = TokenSweeper(self.jobs, ttl_s=config.discord.interaction_ttl_s)
        self._closing = False

    @staticmethod
    def _result_view(job: Job) -> discord.ui.View:
        from bot.cogs.gallery import GalleryAddButton
        from bot.cogs.mix import mix_controls
        from bot.cogs.reroll import result_view
        from bot.voice.controls import PlayInVoiceButton

        view = result_view(job.id)
        if job.guild_id is not None:  # galleries belong to servers
            view.add_item(GalleryAddButton(job.id))
            view.add_item(PlayInVoiceButton("job", job.id))  # voice channels too
        if job.recipe.layered:
            for item in mix_controls(job):
                view.add_item(item)
        return view

    async def setup_hook(self) -> None:
        await self._use_advertised_gateway()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.config.discord.sync_commands:
            await self._sync_commands()
        self.monitor.start()
        self.token_sweeper.start()
        await self.pipeline.start()

    async def _use_advertised_gateway(self) -> None:
        """Connect to the gateway that ``GET /gateway/bot`` names, as Discord intends.

        A plain (unsharded) discord.py client would otherwise always dial Discord's default
        gateway host, even when ``[discord] api_base_url`` points at a compatible server.
        """
        _shards, url, _limits = await self.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        log.info("gateway: %s", url)

    async def _sync_commands(self) -> None:
        guilds = self.config.discord.command_guilds
        if guilds:
            # Guild commands appear instantly: the right choice for testing and small deployments.
            for guild_id in guilds:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %d", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (%s) to %d server(s)", self.user, getattr(self.user, "id", "?"), len(self.guilds)
        )

    async def on_resumed(self) -> None:
        self.pipeline.outbox.wake()  # Discord is back: what is owed can go now

    async def close(self) -> None:
        """Stop accepting, let deliveries in flight finish, keep queued jobs for the next start.

        Every step is contained and bounded in time, so the connection is always closed and the
        process always ends, whatever failed before.
        """
        if self._closing:
            return
        self._closing = True
        try:
            await self.pipeline.stop(SHUTDOWN_GRACE_S)
        except Exception:
            log.exception("shutdown: stopping the job pipeline failed")
        try:
            await self.token_sweeper.stop()
            await self.monitor.stop()
            stats = await self.jobs.stats()
            log.info(
                "shutting down: %s queued job(s) kept for the next start; worst event-loop stall %.1f ms",
                stats.get(JobStatus.QUEUED.value, 0),
                self.monitor.worst_ms,
            )
        except Exception:
            log.exception("shutdown: could not count the queued jobs")
        finally:
            await super().close()
