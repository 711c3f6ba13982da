"""The Stable Audio Open backend: the full window, the duration in the batch key, its samplers,
folders saved with save_pretrained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from diffusers import CosineDPMSolverMultistepScheduler

from generation.backends.registry import family_of, load_backend
from generation.backends.stable_audio.engine import StableAudioEngine
from generation.errors import ModelUnavailable
from generation.prompting import build_request
from generation.settings import EngineSettings


def _req(**kw: object):  # type: ignore[no-untyped-def]
    params: dict[str, object] = {"seed": 3, "steps": 10, "duration": 2.5, "guidance": 6.0} | kw
    return build_request("rain on a tin roof", **params)  # type: ignore[arg-type]


def test_every_clip_costs_the_full_window(tiny_sao_engine: StableAudioEngine) -> None:
    assert tiny_sao_engine.window_s == pytest.approx(47.554, abs=1e-3)
    assert tiny_sao_engine.max_duration_s == tiny_sao_engine.window_s
    assert (
        tiny_sao_engine.denoised_seconds(2.5)
        == tiny_sao_engine.denoised_seconds(30.0)
        == tiny_sao_engine.window_s
    )
    # audio_end_in_s is one number per call: clips of other lengths never share a batch.
    assert tiny_sao_engine.batch_key(_req(duration=5.0)) != tiny_sao_engine.batch_key(_req(duration=6.0))


def test_sampler_names_are_variants_of_the_checkpoints_scheduler(tiny_sao_engine: StableAudioEngine) -> None:
    default, fast, first_order = (tiny_sao_engine.scheduler(n) for n in ("default", "dpm++", "ddim"))
    for scheduler in (default, fast, first_order):
        # The DiT's timestep input is this scheduler's noise preconditioning: no other class fits.
        assert isinstance(scheduler, CosineDPMSolverMultistepScheduler)
        assert scheduler.config.prediction_type == "v_prediction"
    assert (default.config.sigma_schedule, fast.config.sigma_schedule) == ("exponential", "karras")
    assert (default.config.solver_order, first_order.config.solver_order) == (2, 1)
    assert tiny_sao_engine.scheduler("dpm++") is fast  # made once


def test_a_saved_folder_loads_as_stable_audio_open(
    tmp_path: Path, tiny_sao_engine: StableAudioEngine
) -> None:
    folder = tmp_path / "sao"
    tiny_sao_engine.pipe.save_pretrained(folder)
    assert family_of(str(folder)).key == "stable-audio-open"
    loaded = load_backend(EngineSettings(model_id=str(folder), device="cpu"))
    assert isinstance(loaded, StableAudioEngine) and loaded.model_name == "sao"  # never the full path
    assert not loaded.pacing.active  # the test-only pacing belongs to the built-in model alone
    request = _req(seed=21)
    (a,) = loaded.generate([request])
    (b,) = tiny_sao_engine.generate([request])
    assert np.abs(a - b).max() < 1e-4


def test_a_broken_folder_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableAudioPipeline"}')
    with pytest.raises(ModelUnavailable, match="folder") as info:
        load_backend(EngineSettings(model_id=str(tmp_path), device="cpu"))
    assert "\n" not in str(info.value)
