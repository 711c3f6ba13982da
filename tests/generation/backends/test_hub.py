"""Gated and unreachable checkpoints: one clear line saying what to do, never a traceback.

A fake Hugging Face hub on 127.0.0.1 (the ``gated_hub`` fixture) answers like the real one does
for a gated repository. The model is loaded in a child process (the hub address is read at
import time).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from generation.backends.hub import model_unavailable
from generation.errors import ModelUnavailable

REPO = Path(__file__).resolve().parents[3]
SAO = "stabilityai/stable-audio-open-1.0"

_LOAD = """
from generation.backends.registry import load_backend
from generation.errors import ModelUnavailable
from generation.settings import EngineSettings
try:
    load_backend(EngineSettings(model_id={model_id!r}, device="cpu"))
except ModelUnavailable as exc:
    print("UNAVAILABLE:", exc)
"""


def _load(model_id: str, endpoint: str, tmp_path: Path, token: str | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env |= {"HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    env["PYTHONPATH"] = str(REPO)
    if token is not None:
        env["HF_TOKEN"] = token
    result = subprocess.run(
        [sys.executable, "-c", _LOAD.format(model_id=model_id)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("UNAVAILABLE:")]


def test_a_gated_model_without_a_token_says_how_to_get_access(gated_hub: str, tmp_path: Path) -> None:
    (line,) = _load(SAO, gated_hub, tmp_path)
    assert "gated" in line and f"https://huggingface.co/{SAO}" in line and "HF_TOKEN" in line


def test_a_refused_token_says_whose_licence_is_missing(gated_hub: str, tmp_path: Path) -> None:
    (line,) = _load(SAO, gated_hub, tmp_path, token="hf_not_accepted")
    assert "refused the access token" in line and "accept the licence" in line


def test_an_unreachable_hub_suggests_the_builtin_model(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    (line,) = _load(SAO, closed, tmp_path)
    assert "unreachable" in line and "tiny-sao" in line


def test_a_bad_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    error = model_unavailable(
        str(tmp_path), OSError("no model_index.json\nmore"), gated=True, offline_hint="hint"
    )
    assert isinstance(error, ModelUnavailable)
    assert str(error) == f"Could not load folder {str(tmp_path)!r} (OSError: no model_index.json). hint"
