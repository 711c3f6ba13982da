"""The studio's API through ``gradio_client`` against a running studio on the tiny models."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from generation.audio.mp3 import decode_mp3, mp3_duration
from generation.audio.tags import read_tags
from tests.bot.studio.conftest import RunningStudio

# Gradio's launch leaves event loops of its own unclosed (its server thread's); not ours to close.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

#: The Create form after the prompt, in the page's order: preset, model, quality, duration,
#: length, loop, seed, guidance, steps, candidates, negative, raw.
FORM = {"preset": "", "model": "tiny", "quality": "standard", "duration": "3", "length": "",
        "loop": False, "seed": "", "guidance": "", "steps": "10", "candidates": 1, "negative": "",
        "raw": False}  # fmt: skip


def create(client: object, prompt: str, **changes: object) -> tuple[object, ...]:
    form = FORM | changes
    return client.predict(prompt, *form.values(), api_name="/generate")  # type: ignore[attr-defined]


def submit(client: object, prompt: str, **changes: object) -> object:
    form = FORM | changes
    return client.submit(prompt, *form.values(), api_name="/generate")  # type: ignore[attr-defined]


def _path(value: object) -> Path:
    return Path(value["value"] if isinstance(value, dict) else value)  # type: ignore[index]


def test_generate_gives_a_tagged_take_with_its_seed_words_and_picture(running_studio: RunningStudio) -> None:
    client = running_studio.client()
    status, audio, picture, words, download, seed, _table, _pick = create(
        client, "rain on a tin roof", loop=True
    )
    mp3 = _path(download).read_bytes()
    assert _path(audio).read_bytes() == mp3
    assert audio["loop"] is True  # the player loops a looping take
    assert seed.isdigit() and f"seed {seed} " in status  # the random seed, shown after
    tags = read_tags(mp3)
    assert tags["prompt"].startswith("rain on a tin roof") and tags["seed"] == str(int(seed))
    assert tags["model"] == "tiny"
    assert "distinct raindrops" in words and "Negative: " in words  # the rain preset's template, as sent
    assert Path(picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 1.0 < mp3_duration(mp3) < 3.0  # a loop is a little shorter than its duration


def test_same_recipe_and_seed_give_the_clis_samples(running_studio: RunningStudio, tmp_path: Path) -> None:
    from bot.cli import build_parser
    from generation.cli import run_generate

    client = running_studio.client()
    *_, download, _seed, _t, _p = create(client, "campfire at night", seed="1234", duration="2.5")[:8]
    out = tmp_path / "cli.mp3"
    args = build_parser().parse_args(
        [
            "generate",
            "campfire at night",
            "--model",
            "tiny",
            "-s",
            "1234",
            "-d",
            "2.5",
            "--steps",
            "10",
            "-o",
            str(out),
        ]
    )
    assert run_generate(args) == 0  # in this process: the same torch thread count
    studio_samples, studio_rate = decode_mp3(_path(download).read_bytes())
    cli_samples, cli_rate = decode_mp3(out.read_bytes())
    assert studio_rate == cli_rate and np.array_equal(studio_samples, cli_samples)


def test_bad_input_gets_discords_message(running_studio: RunningStudio) -> None:
    from gradio_client.exceptions import AppError

    from generation.errors import RequestError
    from generation.prompting import build_request

    client = running_studio.client()
    with pytest.raises(RequestError) as expected:
        build_request("rain", duration=99)
    with pytest.raises(AppError, match=str(expected.value).replace(".", r"\.")):
        create(client, "rain", duration="99")
    with pytest.raises(AppError, match="Seed must be a whole number"):
        create(client, "rain", seed="abc")
    with pytest.raises(AppError, match="Please describe the soundscape"):
        create(client, "   ")
    with pytest.raises(AppError, match="isn't loaded here"):
        create(client, "rain + waves@nosuch")


def _wait_for_step(job: object, timeout: float = 60.0) -> int:
    """The step a held render reached (waits for its first progress report)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status()  # type: ignore[attr-defined]
        if status.progress_data:
            step = status.progress_data[-1].index
            if step:
                return int(step)
        time.sleep(0.05)  # polling the client for the event, not waiting for the model
    raise AssertionError("the render never reported progress")


def test_stop_ends_a_held_render_and_a_second_session_waits_its_turn(running_studio: RunningStudio) -> None:
    first, second = running_studio.client(), running_studio.client()
    running_studio.hold()
    try:
        held = submit(first, "rain held for stop", seed="1")
        step = _wait_for_step(held)
        queued = submit(second, "waves waiting their turn", seed="2")
        deadline = time.monotonic() + 30
        while queued.status().rank is None and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert queued.status().rank == 0  # type: ignore[attr-defined]  # its place is shown
        # Another session's Stop is not for this render.
        assert second.predict(api_name="/stop") == "Nothing of yours is rendering."  # type: ignore[attr-defined]
        assert first.predict(api_name="/stop").startswith("Stopping")  # type: ignore[attr-defined]
        status = held.result(timeout=60)[0]  # type: ignore[attr-defined]
        stopped_at = int(status.split("after step ")[1].split(" of")[0])
        assert step <= stopped_at <= step + 2
    finally:
        running_studio.release()
    status = queued.result(timeout=120)[0]  # type: ignore[attr-defined]
    assert status.startswith("Take #")


def test_compare_hides_the_models_until_reveal(running_studio: RunningStudio) -> None:
    client = running_studio.client()
    status, a, b = client.predict("waves", "tiny", "tiny-sao", "", "3", "7", "fast", api_name="/compare")
    assert "Seed 7" in status
    takes = [Path(a).read_bytes(), Path(b).read_bytes()]
    for mp3 in takes:
        tags = read_tags(mp3)
        assert "tiny" not in " ".join(tags.values())
    (sa, ra), (sb, rb) = (decode_mp3(t) for t in takes)
    assert ra == rb and sa.shape == sb.shape  # one format, one length
    reveal = client.predict(api_name="/reveal")
    assert {"tiny", "tiny-sao"} == {part.split(": ")[1] for part in reveal.split(" · ")}


def test_prompt_lab_grid_scores_measures_and_saves_a_preset(running_studio: RunningStudio) -> None:
    from generation.preset_file import read_preset_file
    from generation.preset_matching import get_preset, search_presets

    client = running_studio.client()
    status, table, _rows = client.predict(
        "soft rain", "", "tiny", ["on", "off"], ["on"], "", "10", 2, "5", "3", "clap", api_name="/lab"
    )[:3]
    assert status.startswith("Rendered 4 takes")
    rows = _rows
    assert len(rows) == 4 and {r["seed"] for r in rows} == {5, 6}
    assert {r["variant"] for r in rows} == {
        "quality on, negative on, 10 steps",
        "quality off, negative on, 10 steps",
    }
    assert all(isinstance(r["clap"], float) and -1 <= r["clap"] <= 1 for r in rows)
    assert all(r["lufs"] < -10 and r["clipped"] == 0 and 0 < r["flatness"] < 1 for r in rows)
    shown = [int(n) for n in re.findall(r'<tr title="[^"]*"><td>(\d+)</td>', table)]
    by_clap = [r["number"] for r in sorted(rows, key=lambda r: -r["clap"])]
    assert table.count("<audio") == 4 and shown == by_clap  # one player per take, sorted by CLAP
    quality_off = next(r for r in rows if r["variant"].startswith("quality off"))
    saved, _ = client.predict(quality_off["number"], "Soft rain raw", api_name="/save_preset")
    assert "soft-rain-raw" in saved
    (preset,) = read_preset_file(running_studio.presets_file)
    assert preset.template == "{text}" and preset.steps == 10 and preset.duration_s == 3
    assert get_preset("soft-rain-raw") == preset and preset in search_presets("soft")
