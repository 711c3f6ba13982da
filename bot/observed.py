"""What the bot reports about its Discord side: readiness for ``/readyz``, failed API calls and
the live gauges for ``/metrics`` (see :mod:`bot.metrics` and :mod:`bot.health`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord

from bot.jobs.messenger import NETWORK_ERRORS
from bot.metrics import Metrics

if TYPE_CHECKING:
    from bot.app import AmbientBot

log = logging.getLogger(__name__)


def gateway_problem(client: discord.Client) -> str | None:
    """Why the Discord gateway is not connected (every shard this process runs), or None."""
    if client.is_closed():
        return "the bot is shutting down"
    if not client.is_ready():
        return "not connected to the Discord gateway yet"
    shards = getattr(client, "shards", None) or {}
    down = {shard_id for shard_id, shard in shards.items() if shard.is_closed()}
    down |= set(getattr(client, "shards_down", ()))
    if down:
        return "the Discord gateway is disconnected (shard " + ", ".join(map(str, sorted(down))) + ")"
    return None


def bot_problem(bot: AmbientBot) -> str | None:
    """Why the bot can't serve users now (one line), or None: the gateway, then the GPU side."""
    problem = gateway_problem(bot)
    if problem is not None:
        return problem
    if not bot.executor.available():
        if bot.config.executor.remote:
            return "no GPU worker is online (or Redis is unreachable)"
        return "the model is not loaded"
    return None


def count_discord_errors(http: discord.http.HTTPClient, metrics: Metrics) -> None:
    """Count every REST call of discord.py's that fails, by HTTP status ("network" without one).

    discord.py retries 5xx and waits out 429 itself; what is counted is what reached the bot.
    (Result uploads go through :mod:`bot.jobs.poster`, which counts its own.)
    """
    request = http.request

    @functools.wraps(request)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            return await request(*args, **kwargs)
        except discord.HTTPException as exc:
            metrics.discord_error(exc.status)
            raise
        except NETWORK_ERRORS:
            metrics.discord_error("network")
            raise

    http.request = counted  # type: ignore[method-assign]


def waiting_by_label(waiting: Mapping[str | None, int], metrics: Metrics) -> dict[str, int]:
    """Waiting jobs by model label (jobs naming no model count under the default model)."""
    counts: dict[str, int] = {}
    for model, count in waiting.items():
        label = metrics.model(model)
        counts[label] = counts.get(label, 0) + count
    return counts


def workers_by_model(executor: object) -> dict[str, int]:
    """GPU workers online by model they serve (Redis mode; empty with the model in this process)."""
    fleet = getattr(executor, "fleet", None)
    counts: dict[str, int] = {}
    for worker in getattr(fleet, "workers", ()):
        for model in worker.models:
            counts[model] = counts.get(model, 0) + 1
    return counts


def attach(bot: AmbientBot, metrics: Metrics) -> None:
    """Point the metrics' live gauges at this bot, and count its failed Discord calls."""
    metrics.prepare(bot.catalog.names)
    probes = metrics.probes
    probes.queue_jobs = lambda: waiting_by_label(bot.queue.waiting_by_model(), metrics)
    probes.running_jobs = lambda: len(bot.scheduler.running)
    probes.voice_players = lambda: _voice_players(bot)
    probes.loop_stall_s = bot.monitor.take_window_worst_s
    probes.gateway_connected = lambda: gateway_problem(bot) is None
    if bot.config.executor.remote:
        models = bot.catalog.names
        probes.workers = lambda: {model: 0 for model in models} | workers_by_model(bot.executor)
    count_discord_errors(bot.http, metrics)


def _voice_players(bot: discord.Client) -> int:
    cog = bot.get_cog("VoiceCog")
    players = getattr(cog, "players", None)
    return int(getattr(players, "playing", 0))
