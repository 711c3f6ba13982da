"""With ``[executor] kind = "redis"`` the bot's process never imports torch, and a worker never
imports Discord: checked in fresh interpreters, over every module each side loads."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.harness import REPO

BOT_SIDE = """
import importlib, sys
from bot.cogs import EXTENSIONS
from bot.config import Config, ExecutorConfig
import bot.app, bot.runner, bot.cli
from bot.jobs.cpu_pool import CpuPool
for extension in EXTENSIONS:
    importlib.import_module(extension)
executor = bot.runner._executor(Config(executor=ExecutorConfig(kind="redis")), CpuPool(), "0" * 16)
assert type(executor).__name__ == "RemoteExecutor", executor
print(sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.", "diffusers", "transformers"))))
"""

WORKER_SIDE = """
import sys
import bot.cli, bot.remote.worker, bot.remote.gpu, bot.jobs.local_executor
print(sorted(m for m in sys.modules if m == "discord" or m.startswith("discord.")))
"""


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_bot_in_redis_mode_never_imports_torch() -> None:
    assert run(BOT_SIDE) == "[]"


def test_the_worker_never_imports_discord() -> None:
    assert run(WORKER_SIDE) == "[]"
