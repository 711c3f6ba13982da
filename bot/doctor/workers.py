"""Redis mode: the Redis the bot and its workers share, and the GPU workers present in it (read
from their presence records, as the bot reads them)."""

from __future__ import annotations

import asyncio
import os

from bot.config import REDIS_PASSWORD_ENV, Config
from bot.doctor.report import Result, failed, passed

REDIS_TIMEOUT_S = 5.0


async def redis_and_workers(config: Config, *, worker: bool = False) -> list[Result]:
    settings = config.executor
    if not settings.remote and worker:
        return [failed("Redis", '[executor] kind is "local"', 'set kind = "redis" for `ambientgen worker`')]
    if not settings.remote:
        return [passed("Redis", 'not used ([executor] kind = "local": the model runs in the bot)')]
    from redis.exceptions import AuthenticationError, ResponseError

    from bot.remote.broker import ResilientQueue, connect
    from bot.remote.flights import parse_workers

    client = connect(settings.redis_url, os.environ.get(REDIS_PASSWORD_ENV))
    try:
        await asyncio.wait_for(client.ping(), REDIS_TIMEOUT_S)
        info = await asyncio.wait_for(ResilientQueue(client, settings.queue_name).info(), REDIS_TIMEOUT_S)
    except (AuthenticationError, ResponseError) as exc:
        return [
            failed(
                "Redis",
                f"{settings.redis_url} refused us ({type(exc).__name__}: {exc})",
                f"set {REDIS_PASSWORD_ENV} to the Redis password (for the bot and every worker)",
            )
        ]
    except Exception as exc:
        return [
            failed(
                "Redis",
                f"{settings.redis_url} is unreachable ({type(exc).__name__})",
                "start redis-server there, or fix [executor] redis_url",
            )
        ]
    finally:
        await client.aclose()
    results = [passed("Redis", f"{settings.redis_url} answers (queue {settings.queue_name})")]
    fleet = parse_workers(info.get("workers") or {})
    online = ", ".join(f"{w.name} ({w.device}): {'+'.join(w.models)}" for w in fleet.workers)
    if worker:  # this machine is (to be) a worker: the others are shown, not required
        results.append(passed("workers", f"{len(fleet.workers)} online{': ' + online if online else ''}"))
        return results
    if not fleet.workers:
        results.append(
            failed(
                "workers",
                "no GPU worker online",
                "start `ambientgen worker --config PATH` on each GPU (one per GPU)",
            )
        )
        return results
    missing = [name for name in config.model.catalog().names if name not in fleet.models]
    if missing:
        results.append(
            failed(
                "workers",
                f"{len(fleet.workers)} online ({online}), but none serves {', '.join(missing)}",
                "list those models in a worker's [model] id or also, or remove them from the bot's",
            )
        )
    else:
        results.append(passed("workers", f"{len(fleet.workers)} online: {online}"))
    return results
