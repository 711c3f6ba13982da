"""The Stable Audio 3 backend: cost grows with the clip, its samplers, folders, published ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from generation.backends.registry import load_backend
from generation.backends.stable_audio_3.engine import StableAudio3Engine
from generation.prompting import build_request
from generation.settings import EngineSettings


def _req(**kw: object):  # type: ignore[no-untyped-def]
    params: dict[str, object] = {"seed": 3, "steps": 10, "duration": 2.5, "guidance": 1.0} | kw
    return build_request("rain on a tin roof", **params)  # type: ignore[arg-type]


def test_the_latent_grows_with_the_clip(tiny_sa3_engine: StableAudio3Engine) -> None:
    lengths = []
    for duration in (5.0, 20.0):
        latents = tiny_sa3_engine.pipe(prompt="rain", duration=duration, num_inference_steps=2,
                                       output_type="latent").audios  # fmt: skip
        lengths.append(latents.shape[-1])
    assert lengths == [54, 216]  # ceil(seconds * 44100 / 4096): no fixed window
    # What a clip costs (the bot prices jobs by it) is exactly the latent the pipeline denoised.
    for duration, length in zip((5.0, 20.0), lengths, strict=True):
        assert tiny_sa3_engine.denoised_seconds(duration) == pytest.approx(length * 4096 / 44_100)
    assert tiny_sa3_engine.max_duration_s == 384.0


def test_samplers(tiny_sa3_engine: StableAudio3Engine) -> None:
    assert tiny_sa3_engine.scheduler("dpm++") is tiny_sa3_engine.scheduler("default")
    ddim = tiny_sa3_engine.scheduler("ddim")
    assert not ddim.config.stochastic_sampling  # deterministic Euler steps
    assert tiny_sa3_engine.scheduler("default").config.stochastic_sampling


def test_unguided_requests_skip_the_negative_pass(tiny_sa3_engine: StableAudio3Engine, monkeypatch) -> None:
    batches: list[int] = []
    original = tiny_sa3_engine.pipe.transformer.forward

    def counting(hidden_states: torch.Tensor, *args: object, **kwargs: object) -> object:
        batches.append(hidden_states.shape[0])
        return original(hidden_states, *args, **kwargs)

    monkeypatch.setattr(tiny_sa3_engine.pipe.transformer, "forward", counting)
    tiny_sa3_engine.generate([_req(guidance=1.0)])
    tiny_sa3_engine.generate([_req(guidance=4.0)])
    assert batches == [1] * 10 + [2] * 10


def test_a_saved_folder_loads_and_sounds_the_same(
    tmp_path: Path, tiny_sa3_engine: StableAudio3Engine
) -> None:
    folder = tmp_path / "sa3"
    tiny_sa3_engine.pipe.save_pretrained(folder)
    loaded = load_backend(EngineSettings(model_id=str(folder), device="cpu"))
    assert isinstance(loaded, StableAudio3Engine)
    request = _req(seed=21, guidance=3.0)
    (a,) = loaded.generate([request])
    (b,) = tiny_sa3_engine.generate([request])
    assert np.abs(a - b).max() < 1e-4


def test_the_published_id_is_recognised(tmp_path: Path) -> None:
    from generation.backends.registry import family_of

    assert family_of("stabilityai/stable-audio-3-medium").engine_class() is StableAudio3Engine
    assert "convert_stable_audio_3_to_diffusers" in StableAudio3Engine.offline_hint
    with pytest.raises(ValueError, match="unknown scheduler"):
        StableAudio3Engine._make_scheduler(None, "warp", {})  # type: ignore[arg-type]
