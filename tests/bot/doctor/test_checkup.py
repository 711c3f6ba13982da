"""``ambientgen doctor``: the lines it prints here (no GPU, no weights), a passing run with the tiny
model and the Discord stand-in, and no secret in any line."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bot.doctor.checkup import checkup
from tests.standin import DiscordStandIn
from tests.standin.permissions import Perm

ROOT = Path(__file__).resolve().parents[3]
#: Shaped like a real bot token (base64 of an id, a timestamp, a signature); a secret all the same.
TOKEN = (
    base64.b64encode(b"123456789012345678").decode().rstrip("=") + ".GhT9xQ.s3cretS1gnatureAbCdEfGhIjKlMnOpQr"
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_this_machine_says_what_is_missing(tmp_path: Path) -> None:
    """The real command, on a machine without a GPU and without the default model's weights."""
    config = write_config(tmp_path, '[storage]\ndata_dir = "./data"\n')  # the default model otherwise
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "AMBIENTGEN_", "DISCORD_"))},
        "PYTHONPATH": str(ROOT),
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache
        "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}",  # a hub that cannot be reached
        "DISCORD_TOKEN": "not-a-token-but-s3cret",
        "AMBIENTGEN_REDIS_PASSWORD": "redis-s3cret",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert all(line[:2] in ("✓ ", "✗ ") for line in lines), lines
    subjects = [line[2:].split(":")[0] for line in lines]
    assert subjects == [
        "Python",
        "torch",
        "config",
        "GPU",
        "model cvssp/audioldm2",
        "data folder",
        "database",
        "libopus",
        "PyNaCl",
        "davey",
        "Redis",
        "Discord token",
    ]
    by_subject = dict(zip(subjects, lines, strict=True))
    if not torch.cuda.is_available():
        assert by_subject["GPU"].startswith("✗ GPU: no CUDA GPU")
        assert "fix: run on a machine with an NVIDIA GPU" in by_subject["GPU"]
    assert by_subject["model cvssp/audioldm2"].startswith(
        "✗ model cvssp/audioldm2: not in the local cache, and the Hugging Face hub is unreachable"
    )
    assert "hf download cvssp/audioldm2" in by_subject["model cvssp/audioldm2"]
    assert by_subject["Discord token"].startswith(
        "✗ Discord token: DISCORD_TOKEN (22 characters) is not shaped"
    )
    for passing in (
        "Python",
        "torch",
        "config",
        "data folder",
        "database",
        "libopus",
        "PyNaCl",
        "davey",
        "Redis",
    ):
        assert by_subject[passing].startswith("✓ "), by_subject[passing]
    assert str(tmp_path / "data") in by_subject["data folder"]
    assert "s3cret" not in done.stdout + done.stderr


async def test_the_tiny_model_with_the_stand_in_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        guild = standin.add_guild("Ambient Lounge")
        config = write_config(
            tmp_path,
            f'[model]\nid = "tiny"\nalso = [{{ id = "tiny-sao" }}]\n'
            f'[discord]\napi_base_url = "{standin.api_base_url}"\ncommand_guilds = [{guild.id}]\n',
        )
        monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
        monkeypatch.setenv("AMBIENTGEN_STORAGE__DATA_DIR", str(tmp_path / "var"))
        lines: list[str] = []
        status = await checkup(config, lines.append)
        assert status == 0, "\n".join(lines)
        assert all(line.startswith("✓ ") for line in lines), lines
        text = "\n".join(lines)
        assert "AMBIENTGEN_STORAGE__DATA_DIR" in text and str(tmp_path / "var") in text
        assert "✓ model tiny-sao: built in" in text
        assert f"token accepted: bot {standin.bot.username}" in text
        assert "8 permissions held in 1 server(s)" in text
        assert TOKEN not in text and TOKEN.split(".")[2] not in text

        # Take voice away from the bot's server: the invite line names what is missing, and how to fix it.
        for role in (guild.everyone, *(r for r in guild.roles.values() if r is not guild.everyone)):
            role.permissions &= ~int(Perm.CONNECT | Perm.SPEAK)
        lines.clear()
        assert await checkup(config, lines.append) == 1
        invite = next(line for line in lines if "invite" in line.split(":")[0])
        assert invite.startswith("✗ invite: Ambient Lounge lacks Connect, Speak — fix: grant them")
        assert "permissions=3263552" in invite


async def test_a_refused_token_and_an_unreachable_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        config = write_config(
            tmp_path, f'[model]\nid = "tiny"\n[discord]\napi_base_url = "{standin.api_base_url}"\n'
        )
        wrong = TOKEN[:-4] + "zzzz"
        monkeypatch.setenv("DISCORD_TOKEN", wrong)
        lines: list[str] = []
        assert await checkup(config, lines.append) == 1
        assert lines[-1].startswith("✗ Discord API: GET /users/@me: 401, Discord refused the token")
        assert wrong not in "\n".join(lines)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    lines.clear()
    assert await checkup(config, lines.append) == 1  # the stand-in is gone
    assert lines[-1].startswith("✗ Discord API: ") and "is unreachable" in lines[-1]


async def test_a_config_error_is_one_line_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBIENTGEN_QUEUE__MAX_QUEUE", "lots")
    config = write_config(tmp_path, "[queue]\nmax_batch = 99\n")
    lines: list[str] = []
    assert await checkup(config, lines.append) == 1
    assert lines[2:] == [
        "✗ config: [queue] max_queue (from AMBIENTGEN_QUEUE__MAX_QUEUE) must be an integer between 1 and "
        '10000; got "lots" — fix: fix the file, or the variable the line names',
        "✗ config: [queue] max_batch must be an integer between 0 and 32; got 99 — fix: fix the file, or "
        "the variable the line names",
    ]
