"""The bot: an ``AutoShardedBot`` that owns the job machinery and loads one cog per feature.

Sharded from the start: one process runs every shard Discord recommends (``GET /gateway/bot``),
or the ``[discord] shard_ids`` of ``shard_count`` it is given, so growing past one gateway
connection is a config change, not a rewrite.
"""

from __future__ import annotations

import asyncio
import logging
import time

import discord
import discord.gateway
import yarl
from discord.ext import commands

from bot import observed
from bot.cogs import EXTENSIONS
from bot.config import Config
from bot.errors import AmbientTree
from bot.jobs.cpu_pool import CpuPool
from bot.jobs.executor import Executor
from bot.jobs.pipeline import SHUTDOWN_GRACE_S, Pipeline, Stores
from bot.library import Library, Pruner
from bot.metrics import metrics
from bot.monitor import LoopMonitor
from bot.storage import Database, GalleryStore, HistoryStore, Job, JobStatus, RetentionStore, UserStore
from bot.token_sweep import TokenSweeper

log = logging.getLogger(__name__)


#: Discord lets each identify bucket start one gateway session per this many seconds.
IDENTIFY_INTERVAL_S = 5.0


class AmbientBot(commands.AutoShardedBot):
    """Dependencies come in through the constructor; the runner owns their lifetimes."""

    def __init__(
        self, *, config: Config, db: Database, executor: Executor, cpu: CpuPool | None = None
    ) -> None:
        # Default intents cover guilds and reactions; no message content or member list needed.
        super().__init__(
            # None: as many shards as GET /gateway/bot recommends, all run by this process.
            shard_count=config.discord.shard_count or None,
            shard_ids=list(config.discord.shard_ids) or None,
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
        self.catalog = config.model.catalog()
        """The models users may choose (``/ambient model:``, ``/compare``), the default first."""
        stores = Stores.open(db, config)
        self.jobs = stores.jobs
        self.generations = stores.generations
        self.files = stores.files
        self.stems = stores.stems
        self.compares = stores.compares
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
        observed.attach(self, metrics())  # /metrics reads the queue, the players and the loop monitor
        self._closing = False
        self._max_concurrency = 1
        self._identified: dict[int, float] = {}
        self.shards_down: set[int] = set()
        """Shards disconnected since their last READY or RESUMED (``/readyz``)."""
        """Identify bucket → when a shard of it last identified."""

    @staticmethod
    def _result_view(job: Job) -> discord.ui.View:
        from bot.cogs.gallery import GalleryAddButton
        from bot.cogs.mix import mix_controls
        from bot.cogs.reroll import result_view
        from bot.voice.controls import PlayInVoiceButton

        if job.recipe.compare:
            from bot.cogs.compare import compare_view

            return compare_view(job, revealed=False)
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
        shards, url, limits = await self.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self._max_concurrency = max(1, int(limits.get("max_concurrency", 1)))
        count = self.shard_count or shards
        mine = self.shard_ids or range(count)
        log.info("gateway: %s, shards %s of %d (identify concurrency %d)", url, ",".join(map(str, mine)),
                 count, self._max_concurrency)  # fmt: skip

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Start shards as fast as Discord allows: one identify per bucket per 5 s, buckets in parallel.

        (discord.py's own hook waits 5 s before every shard after the first, whatever the
        ``max_concurrency`` Discord granted.)
        """
        bucket = (shard_id or 0) % self._max_concurrency
        last = self._identified.get(bucket)
        if last is not None:
            await asyncio.sleep(max(0.0, last + IDENTIFY_INTERVAL_S - time.monotonic()))
        self._identified[bucket] = time.monotonic()

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
            "connected as %s (%s) to %d server(s) on %d shard(s)",
            self.user, getattr(self.user, "id", "?"), len(self.guilds), len(self.shards),
        )  # fmt: skip

    async def on_shard_ready(self, shard_id: int) -> None:
        self.shards_down.discard(shard_id)
        log.info("shard %d ready", shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.shards_down.discard(shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        # Down until its session is READY or RESUMED again (a socket that merely opened is not).
        self.shards_down.add(shard_id)

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
                "shutting down: %s queued job(s) kept for the next start; worst event-loop stall %.1f ms "
                "(the loop's own work in one tick at most %.1f ms)",
                stats.get(JobStatus.QUEUED.value, 0),
                self.monitor.worst_ms,
                self.monitor.worst_busy_ms,
            )
        except Exception:
            log.exception("shutdown: could not count the queued jobs")
        finally:
            await super().close()
