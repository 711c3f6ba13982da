"""``ambientgen worker`` refuses to start with one line and a non-zero status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import REPO, write_config
from tests.redis_server import RedisServer, redis_env


def run_worker(tmp_path: Path, sections: dict[str, dict[str, object]]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "worker.toml"
    write_config(config, sections)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--config", str(config)],
        cwd=REPO, env=redis_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ambientgen worker:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_worker_needs_the_redis_executor(tmp_path: Path) -> None:
    result = run_worker(tmp_path, {"model": {"id": "tiny"}})
    assert result.returncode == 2
    assert 'kind = "redis"' in one_line(result)


def test_an_unreachable_redis_is_one_line(tmp_path: Path) -> None:
    result = run_worker(tmp_path, {"executor": {"kind": "redis", "redis_url": "redis://127.0.0.1:1/0"}})
    assert result.returncode == 2
    assert "can't reach Redis at redis://127.0.0.1:1/0" in one_line(result)


def test_a_missing_model_is_one_line_and_exit_3(tmp_path: Path, redis_server: RedisServer) -> None:
    missing = tmp_path / "no-such-model"
    result = run_worker(
        tmp_path,
        {
            "executor": {"kind": "redis", "redis_url": redis_server.url},
            "model": {"id": str(missing), "device": "cpu"},
        },
    )
    assert result.returncode == 3
    assert "no-such-model" in one_line(result)
