"""``ambientgen worker`` refuses to start with one line and a non-zero status."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import REPO, write_config
from tests.redis_server import RedisServer, redis_env


def run_worker(
    tmp_path: Path, sections: dict[str, dict[str, object]], *args: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "worker.toml"
    write_config(config, sections)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--config", str(config), *args],
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


def test_a_bad_or_taken_metrics_port_is_one_line(tmp_path: Path) -> None:
    redis = {"executor": {"kind": "redis", "redis_url": "redis://127.0.0.1:1/0"}}
    result = run_worker(tmp_path, redis, "--metrics-port", "70000")
    assert result.returncode == 2
    assert one_line(result).endswith("--metrics-port must be an integer between 0 and 65535; got 70000")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # [metrics] port in the file, overridden on the command line by a port that is taken.
        result = run_worker(tmp_path, {**redis, "metrics": {"port": 1}}, "--metrics-port", str(port))
    assert result.returncode == 2
    assert f"the metrics port 127.0.0.1:{port} can't be opened" in one_line(result)
