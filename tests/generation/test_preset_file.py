"""Extra presets from a file: written by the studio, read by the bot, offered by name only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from generation.errors import RequestError
from generation.preset_file import PresetFileError, preset_key, read_preset_file, save_preset
from generation.preset_matching import (
    extra_presets,
    get_preset,
    install_extra_presets,
    match_preset,
    search_presets,
)
from generation.presets import PRESETS, Preset
from generation.prompting import build_request


@pytest.fixture(autouse=True)
def no_extra_presets() -> Iterator[None]:
    yield
    install_extra_presets([])


def _preset(key: str = "soft-rain", **changes: object) -> Preset:
    fields = {"key": key, "label": "Soft rain", "keywords": (), "template": "{text}, soft and close",
              "negative_prompt": "", "guidance": 4.5, "steps": 30, "duration_s": 8.0}  # fmt: skip
    return Preset(**(fields | changes))  # type: ignore[arg-type]


def test_saved_presets_round_trip_and_replace_by_key(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "presets.json"
    assert read_preset_file(path) == []  # none yet
    save_preset(path, _preset())
    save_preset(path, _preset("night", label="Night"))
    save_preset(path, _preset(guidance=7.0))
    presets = read_preset_file(path)
    assert [p.key for p in presets] == ["night", "soft-rain"] and presets[1].guidance == 7.0
    assert presets[1].negative_prompt == "" and presets[1].keywords == ()
    assert not list(path.parent.glob("*.part"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "invalid JSON at line 1"),
        ("[]", 'expected {"presets"'),
        ('{"presets": [{"key": "x", "label": "X"}]}', "preset 1: template must be a non-empty string"),
        ('{"presets": [{"key": "x", "label": "X", "template": "no words"}]}', "exactly one {text}"),
        ('{"presets": [{"key": "x", "label": "X", "template": "{text}", "steps": 500}]}',
         "steps must be between"),
        ('{"presets": [{"key": "x", "label": "X", "template": "{text}", "colour": 1}]}',
         "unknown field 'colour'"),
        ('{"presets": [{"key": "x", "label": "X", "template": "{text}"}, {"key": "x", "label": "Y", '
         '"template": "{text}"}]}', "'x' is used twice"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "presets.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PresetFileError) as error:
        read_preset_file(path)
    message = str(error.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_installed_presets_are_chosen_by_name_never_matched_from_words() -> None:
    extra = _preset()
    install_extra_presets([extra])
    assert extra_presets() == (extra,)
    assert get_preset("Soft rain") is extra and PRESETS["soft-rain"] is extra
    assert extra in search_presets("soft")
    assert match_preset("soft rain on a roof").key == "rain"  # the catalogue's, as before
    request = build_request("a garden", preset="soft-rain", seed=1)
    assert request.prompt == "a garden, soft and close" and request.negative_prompt == ""
    assert (request.guidance, request.steps, request.duration_s) == (4.5, 30, 8.0)
    install_extra_presets([])
    assert "soft-rain" not in PRESETS
    with pytest.raises(RequestError):
        get_preset("soft-rain")


def test_a_built_in_name_is_refused() -> None:
    with pytest.raises(RequestError, match="built-in preset's"):
        install_extra_presets([_preset("rain", label="My rain")])
    assert "rain" in PRESETS and not extra_presets()


def test_preset_key_from_a_name() -> None:
    assert preset_key("Crunchy Rain #2!") == "crunchy-rain-2"
    assert preset_key("  ") == ""
    assert json.loads(json.dumps(preset_key("x" * 80))) == "x" * 40
