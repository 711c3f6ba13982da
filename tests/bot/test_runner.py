"""``ambientgen run`` refuses what cannot work with one line and a non-zero status, never a
traceback — and it checks the data folder and the database before it loads any model."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage.migrations import MIGRATIONS

REPO = Path(__file__).resolve().parents[2]


def run_bot(
    tmp_path: Path, data_dir: Path, model: str = "tiny", *, more: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        '[discord]\napi_base_url = "http://127.0.0.1:9/api/v10"\n'
        f'[model]\nid = "{model}"\ndevice = "cpu"\n{more}[storage]\ndata_dir = "{data_dir.as_posix()}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "DISCORD_TOKEN": "not-a-real-token", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("ambientgen:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    return lines[0]


# A model folder that does not exist: had the model been loaded first, that would be the error.
MISSING_MODEL = "./no-such-model-folder"


def test_a_corrupted_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "ambientgen.sqlite3").write_bytes(b"this is not a database at all" * 200)
    result = run_bot(tmp_path, data, MISSING_MODEL)
    assert result.returncode == 2
    line = one_line(result)
    assert "ambientgen.sqlite3" in line and "damaged" in line and "backup" in line


def test_a_database_from_a_newer_version_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "ambientgen.sqlite3") as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    result = run_bot(tmp_path, data, MISSING_MODEL)
    assert result.returncode == 2
    assert "upgrade AmbientGen" in one_line(result)


@pytest.mark.parametrize("kind", ["file", "inside a file"])
def test_a_data_folder_that_cannot_be_written_is_one_line(tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    data = blocker if kind == "file" else blocker / "data"
    result = run_bot(tmp_path, data, MISSING_MODEL)
    assert result.returncode == 2
    line = one_line(result)
    assert "data folder" in line and "[storage] data_dir" in line


def test_with_a_good_database_the_model_is_what_fails(tmp_path: Path) -> None:
    result = run_bot(tmp_path, tmp_path / "data", MISSING_MODEL)
    assert result.returncode == 3
    assert "no-such-model-folder" in one_line(result)
    assert (tmp_path / "data" / "ambientgen.sqlite3").is_file()  # opened and migrated first


def test_a_gated_second_model_without_a_token_is_one_line_at_start(tmp_path: Path) -> None:
    from tests.hub_standin import gated_hub_server

    with gated_hub_server() as hub:
        env = {
            "HF_ENDPOINT": hub,
            "HF_HOME": str(tmp_path / "hf"),
            "HF_TOKEN": "",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        more = 'also = [{ id = "stabilityai/stable-audio-open-1.0" }]\n'
        result = run_bot(tmp_path, tmp_path / "data", more=more, env=env)
    assert result.returncode == 3
    line = one_line(result)
    assert "stabilityai/stable-audio-open-1.0 is gated" in line and "HF_TOKEN" in line


def test_a_taken_metrics_port_is_one_line_before_the_model_loads(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_bot(tmp_path, tmp_path / "data", MISSING_MODEL, more=f"[metrics]\nport = {port}\n")
    assert result.returncode == 2
    line = one_line(result)
    assert f"the metrics port 127.0.0.1:{port} can't be opened" in line and "[metrics] port" in line


def test_json_logs_from_the_real_process(tmp_path: Path) -> None:
    result = run_bot(tmp_path, tmp_path / "data", MISSING_MODEL, more='[logging]\nformat = "json"\n')
    assert result.returncode == 3
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    config = next(r for r in records if r["message"].startswith("config: "))
    assert config["logger"] == "bot.runner" and config["level"] == "INFO" and "time" in config
    assert "not-a-real-token" not in result.stderr
    # Every log line is JSON; only the final one-line reason is plain text for the operator.
    others = [line for line in result.stderr.splitlines() if line and not line.startswith("{")]
    assert others == [one_line(result)], others
