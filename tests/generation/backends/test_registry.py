"""Which family a model id belongs to: built-in names, hub ids, folders by their pipeline class."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generation.backends.registry import (
    AUDIOLDM2,
    BUILTIN_MODEL_IDS,
    FAMILIES,
    STABLE_AUDIO_3,
    STABLE_AUDIO_OPEN,
    family_of,
)
from generation.settings import TINY_MODEL_IDS


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("tiny", AUDIOLDM2),
        ("tiny-sao", STABLE_AUDIO_OPEN),
        ("tiny-sa3", STABLE_AUDIO_3),
        ("cvssp/audioldm2", AUDIOLDM2),
        ("cvssp/audioldm2-large", AUDIOLDM2),
        ("stabilityai/stable-audio-open-1.0", STABLE_AUDIO_OPEN),
        ("StabilityAI/Stable-Audio-Open-1.0", STABLE_AUDIO_OPEN),
        ("stabilityai/stable-audio-3-medium", STABLE_AUDIO_3),
        ("stabilityai/stable-audio-3-medium-base", STABLE_AUDIO_3),
        ("someone/an-unknown-model", AUDIOLDM2),  # as before there were families: its loader says why
    ],
)
def test_ids_name_their_family(model_id: str, family: object) -> None:
    assert family_of(model_id) is family


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_a_folder_is_recognised_by_its_pipeline_class(tmp_path: Path, family: object) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": family.pipeline_class}))
    assert family_of(str(tmp_path)) is family


def test_folders_without_an_index_are_left_to_audioldm2(tmp_path: Path) -> None:
    assert family_of(str(tmp_path)) is AUDIOLDM2
    (tmp_path / "model_index.json").write_text("not json")
    assert family_of(str(tmp_path)) is AUDIOLDM2


def test_every_family_names_its_backend_and_builtin_model() -> None:
    assert BUILTIN_MODEL_IDS == TINY_MODEL_IDS
    for family in FAMILIES:
        engine = family.engine_class()
        assert engine.family == family.key and engine.tiny_id == family.tiny_id
        assert engine.gated == family.gated
        assert family_of(family.published_id) is family


def test_the_registry_imports_without_torch() -> None:
    code = (
        "import sys, generation.backends.registry as r\n"
        "assert r.family_of('tiny-sao').key == 'stable-audio-open'\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- what a clip costs each family (pure: a bot without the model prices jobs by it) ----------------


def test_audioldm2_denoises_the_clip_rounded_up_to_40_ms_latent_frames() -> None:
    assert AUDIOLDM2.denoised_seconds(10.0) == pytest.approx(10.0)
    assert AUDIOLDM2.denoised_seconds(2.5) == pytest.approx(2.52)  # 250 mel frames -> 252
    assert AUDIOLDM2.denoised_seconds(30.0) == pytest.approx(3 * AUDIOLDM2.denoised_seconds(10.0))


def test_stable_audio_open_always_denoises_its_47_55_s_window() -> None:
    window = 1024 * 2048 / 44_100
    assert window == pytest.approx(47.554, abs=1e-3)
    assert {STABLE_AUDIO_OPEN.denoised_seconds(d) for d in (2.5, 10.0, 30.0, 47.0)} == {window}


def test_stable_audio_3_denoises_the_clip_rounded_up_to_4096_sample_latents() -> None:
    frame = 4096 / 44_100
    assert STABLE_AUDIO_3.denoised_seconds(10.0) == pytest.approx(108 * frame)  # ceil(107.67)
    assert STABLE_AUDIO_3.denoised_seconds(2.5) == pytest.approx(27 * frame)
    costs = [STABLE_AUDIO_3.denoised_seconds(d) for d in (2.5, 10.0, 30.0)]
    assert costs == sorted(costs) and all(
        c - d < frame for c, d in zip(costs, (2.5, 10.0, 30.0), strict=True)
    )
