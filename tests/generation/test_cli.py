"""``ambientgen generate`` end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from generation.audio.mp3 import decode_mp3
from generation.audio.tags import read_tags

REPO = Path(__file__).resolve().parents[2]


def _ambientgen(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # This checkout's code, whatever an installed (editable) copy points at.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_generate_writes_a_decodable_tagged_mp3(tmp_path: Path) -> None:
    out = tmp_path / "rain.mp3"
    result = _ambientgen(
        "generate", "rain on a tin roof", "--model", "tiny", "-o", str(out), "-s", "42", "-d", "4",
        "--steps", "10", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    samples, rate = decode_mp3(out.read_bytes())
    assert rate == 16_000
    assert abs(len(samples) / rate - 4.0) < 0.01
    tags = read_tags(out.read_bytes())
    assert tags["seed"] == "42" and tags["model"] == "tiny" and "rain on a tin roof" in tags["prompt"]
    assert "Wrote" in result.stderr
    assert "Warning" not in result.stderr  # the libraries' deprecation noise is filtered


def test_fast_quality_uses_dpm_solver_with_fewer_steps(tmp_path: Path) -> None:
    out = tmp_path / "fast.mp3"
    result = _ambientgen(
        "generate", "crackling fire", "--model", "tiny", "--quality", "fast", "-d", "2.5", "-o", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert read_tags(out.read_bytes())["steps"] == "25"


def test_generate_variations_are_numbered(tmp_path: Path) -> None:
    result = _ambientgen(
        "generate", "ocean waves", "--model", "tiny", "-n", "2", "-s", "5", "--steps", "10", "-d", "2.5",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.glob("*.mp3"))
    assert names == ["ocean-waves-5-1.mp3", "ocean-waves-5-2.mp3"]
    first, second = (read_tags((tmp_path / n).read_bytes())["seed"] for n in names)
    assert (first, second) == ("5", "6")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "45"], "Duration must be between 2.5 and 30 seconds; you asked for 45."),
        (["--steps", "5"], "Steps must be between"),
        (["-n", "9"], "Variations must be between 1 and 8"),
        (["--quality", "ultra"], "invalid choice: 'ultra'"),
    ],
)
def test_bad_input_is_one_line_no_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    result = _ambientgen("generate", "rain", "--model", "tiny", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.mp3"))


def test_unreachable_model_is_one_line_suggesting_tiny(tmp_path: Path) -> None:
    # A hub that refuses connections: what a user without internet access sees.
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}", "HF_HUB_DISABLE_TELEMETRY": "1"}
    result = _ambientgen("generate", "rain", "--model", "cvssp/audioldm2", cwd=tmp_path, env=env)
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("ambientgen:")]
    assert len(errors) == 1
    assert "cvssp/audioldm2" in errors[0] and "--model tiny" in errors[0]
    assert "Traceback" not in result.stderr


def test_tiny_sao_writes_a_stereo_44_1_khz_mp3_naming_its_model(tmp_path: Path) -> None:
    from generation.audio.loudness import integrated_loudness

    out = tmp_path / "sao.mp3"
    result = _ambientgen(
        "generate", "rain on a tin roof", "--model", "tiny-sao", "-o", str(out), "-s", "42", "-d", "6",
        "--steps", "10", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    samples, rate = decode_mp3(out.read_bytes())
    assert rate == 44_100 and samples.shape == (6 * 44_100, 2)
    assert integrated_loudness(samples, rate) == pytest.approx(-18.0, abs=0.3)
    tags = read_tags(out.read_bytes())
    assert tags["model"] == "tiny-sao" and tags["seed"] == "42" and "tiny-sao" in tags["comment"]
    assert "Warning" not in result.stderr  # the libraries' deprecation noise is filtered


def test_tiny_sa3_long_looping_render(tmp_path: Path) -> None:
    from generation.audio.seam import seam_report

    out = tmp_path / "long.mp3"
    result = _ambientgen(
        "generate", "deep space drone", "--model", "tiny-sa3", "--length", "40", "--loop", "--steps", "10",
        "--seed", "7",  # fixed: with a random seed the tiny model's noise made the seam measure a coin toss
        "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    samples, rate = decode_mp3(out.read_bytes())
    assert rate == 44_100 and samples.shape == (40 * 44_100, 2)
    assert not seam_report(samples, rate).stands_out


def test_a_gated_model_without_a_token_is_one_line(tmp_path: Path, gated_hub: str) -> None:
    env = {"HF_ENDPOINT": gated_hub, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    env |= {"HF_TOKEN": ""}  # set but empty: huggingface_hub treats it as no token
    result = _ambientgen(
        "generate", "rain", "--model", "stabilityai/stable-audio-open-1.0", cwd=tmp_path, env=env
    )
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("ambientgen:")]
    assert len(errors) == 1, result.stderr
    assert "gated" in errors[0] and "HF_TOKEN" in errors[0]
    assert "https://huggingface.co/stabilityai/stable-audio-open-1.0" in errors[0]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.mp3"))
