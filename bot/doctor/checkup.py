"""``ambientgen doctor``: every check in order, one line each, exit status 0 only when all pass."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import TOKEN_ENV, Config, ConfigError, load_config
from bot.config.env import config_variables
from bot.config.loading import SECTIONS
from bot.doctor.report import Result, failed, passed, scrub, secrets


def run_doctor(config_path: Path | None, *, worker: bool = False) -> int:
    """Check this machine for the bot (or, with ``worker``, for ``ambientgen worker``); print
    one line per check; 0 when every check passed, 1 otherwise."""
    hidden = secrets()

    def say(line: str) -> None:
        print(scrub(line, hidden), flush=True)

    return asyncio.run(checkup(config_path, say, worker=worker))


async def checkup(config_path: Path | None, say: Callable[[str], None], *, worker: bool = False) -> int:
    from bot.doctor.versions import python_version, torch_version

    outcomes: list[bool] = []

    def report(*results: Result) -> None:
        for result in results:
            outcomes.append(result.ok)
            say(result.line())

    report(python_version(), torch_version())
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        report(
            *(
                failed("config", line, "fix the file, or the variable the line names")
                for line in str(exc).splitlines()
            )
        )
        return 1
    report(_config_line(config))
    await _checks(config, report, worker=worker)
    return 0 if all(outcomes) else 1


def _config_line(config: Config) -> Result:
    where = str(config.source) if config.source else "built-in defaults (no --config, no AMBIENTGEN_CONFIG)"
    names = sorted(name for name, _ in config_variables(os.environ, SECTIONS).values())
    return passed("config", where + (f", with {', '.join(names)}" if names else ""))


async def _checks(config: Config, report: Callable[..., None], *, worker: bool) -> None:
    from bot.doctor.database import data_folder
    from bot.doctor.discord_api import discord_api, token_shape
    from bot.doctor.gpu import gpu
    from bot.doctor.voice import voice
    from bot.doctor.weights import weights
    from bot.doctor.workers import redis_and_workers

    if config.executor.remote and not worker:
        report(
            passed(
                "models",
                '[executor] kind = "redis": they run in `ambientgen worker`; '
                "check each GPU machine with `ambientgen doctor --worker`",
            )
        )
    else:
        report(gpu(config), *weights(config))
    if not worker:
        report(*data_folder(config), *voice())
    report(*await redis_and_workers(config, worker=worker))
    if worker:
        return
    token = os.environ.get(TOKEN_ENV)
    shape = token_shape(token)
    report(shape)
    if shape.ok and token is not None:
        report(*await discord_api(config, token.strip()))


if __name__ == "__main__":
    sys.exit(run_doctor(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
