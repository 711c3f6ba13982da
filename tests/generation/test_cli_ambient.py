"""``ambientgen generate`` with --loop, --length, --candidates, layers and --spectrogram (in process)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from PIL import Image

from generation.audio.mp3 import decode_mp3
from generation.audio.seam import seam_report
from generation.audio.tags import read_tags
from generation.cli import add_generate_arguments, run_generate

FAST = ["--model", "tiny", "--device", "cpu", "--steps", "10"]


def _generate(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_generate_arguments(parser)
    return run_generate(parser.parse_args(list(argv)))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return image.size


def test_loop_with_spectrogram(tmp_path: Path) -> None:
    assert _generate("rain", *FAST, "-d", "6", "-s", "3", "--loop", "--spectrogram", "rain.png") == 0
    audio, rate = decode_mp3((tmp_path / "rain-3.mp3").read_bytes())
    assert 3.0 < audio.shape[0] / rate < 6.0  # the loop is cut from the clip
    assert not seam_report(audio, rate).stands_out
    assert _png_size(tmp_path / "rain.png") == (600, 200)


def test_candidates_keep_the_best(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _generate("waves", *FAST, "-d", "2.5", "-s", "9", "--candidates", "3", "-n", "2", "-o", "w") == 0
    err = capsys.readouterr().err
    ranking = err.split("Ranked by CLAP: ")[1].splitlines()[0]
    best, second = (int(part.split()[1]) for part in ranking.split(", ")[:2])
    assert read_tags((tmp_path / "w-1.mp3").read_bytes())["seed"] == str(best)
    assert read_tags((tmp_path / "w-2.mp3").read_bytes())["seed"] == str(second)
    assert "rank 1 of 3" in err and not (tmp_path / "w-3.mp3").exists()


def test_layers_are_mixed_into_one_file(tmp_path: Path) -> None:
    assert _generate("rain:1 + crickets:0.5", *FAST, "-d", "3", "-s", "4") == 0
    tags = read_tags((tmp_path / "rain-crickets-4.mp3").read_bytes())
    assert tags["title"] == "rain:1 + crickets:0.5"
    assert tags["preset"] == "rain + crickets"


def test_long_render_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _generate("wind", *FAST, "--length", "35", "-s", "2", "--loop", "--spectrogram", "w.png") == 0
    audio, rate = decode_mp3((tmp_path / "wind-2.mp3").read_bytes())
    assert audio.shape[0] == 35 * rate
    assert _png_size(tmp_path / "w.png") == (600, 200)
    assert "2 segment(s)" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rain", "--length", "700"], "Length must be between 2.5 seconds and 10 minutes"),
        (["rain", "--length", "60", "-d", "10"], "either --length"),
        (["rain", "--length", "60", "-n", "2"], "--length makes one file"),
        (["rain + wind", "--length", "60"], "not on layers"),
        (["rain + wind", "--preset", "ocean"], "each layer gets its own preset"),
        (["rain + wind", "--candidates", "2"], "--candidates works on a single prompt"),
        (["rain", "--candidates", "5"], "Candidates must be between 1 and 4"),
        (["rain", "--candidates", "2", "-n", "3"], "-n 3 asks for more files than --candidates 2"),
        (["a + b + c + d + e"], "at most 4 layers"),
        (["rain:3 + wind"], "between 0 and 2"),
    ],
)
def test_bad_combinations_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert _generate(*argv, "--model", "tiny") == 2
    err = capsys.readouterr().err
    assert err.startswith("ambientgen: ") and message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())
