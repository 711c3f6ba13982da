"""Loading a family's model: test pacing on built-in models only, dtype, compile of the denoiser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from generation.backends.registry import load_backend
from generation.errors import ModelUnavailable
from generation.prompting import build_request
from generation.settings import EngineSettings


def test_builtin_models_take_the_test_pacing_from_the_settings(tmp_path: Path) -> None:
    settings = EngineSettings(model_id="tiny-sa3", device="cpu", test_hold_file=tmp_path / "hold",
                              test_step_delay_ms=5)  # fmt: skip
    engine = load_backend(settings)
    assert engine.pacing.active
    assert engine.pacing.hold_file == tmp_path / "hold" and engine.pacing.step_delay_s == 0.005


def test_another_dtype_still_gives_float32_waveforms() -> None:
    engine = load_backend(EngineSettings(model_id="tiny-sa3", device="cpu", dtype="bfloat16"))
    assert engine.dtype == torch.bfloat16
    (wave,) = engine.generate([build_request("rain", seed=2, steps=10, duration=2.5, guidance=1.0)])
    assert wave.dtype == np.float32 and np.isfinite(wave).all() and wave.shape[1:] == (2,)


def test_the_denoiser_is_compiled_at_warm_up_and_sounds_the_same(tiny_sa3_engine) -> None:  # type: ignore[no-untyped-def]
    # The "eager" backend runs torch.compile's graph capture without needing a C compiler.
    settings = EngineSettings(model_id="tiny-sa3", device="cpu", compile=True, compile_backend="eager")
    compiled = load_backend(settings)
    assert compiled.compiled and type(compiled.pipe.transformer).__name__ == "OptimizedModule"
    request = build_request("rain on a tent", seed=3, steps=10, duration=2.5, guidance=1.0)
    assert compiled.warm_up(request) > 0
    (fast,) = compiled.generate([request])
    (plain,) = tiny_sa3_engine.generate([request])
    assert np.abs(fast - plain).max() < 1e-4


def test_a_family_refuses_another_familys_model() -> None:
    from generation.backends.audioldm2.engine import AudioEngine

    with pytest.raises(ModelUnavailable, match="is a Stable Audio Open model; AudioEngine loads audioldm2"):
        AudioEngine.load(EngineSettings(model_id="tiny-sao", device="cpu"))
