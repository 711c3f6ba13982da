"""The backend contract, on every family's tiny model: the real diffusers pipelines, CPU.

Each test runs once per family (AudioLDM2 ``tiny``, Stable Audio Open ``tiny-sao``, Stable
Audio 3 ``tiny-sa3``): what the executor, the recipes and the CLI rely on must hold for all.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.backends.base import Backend
from generation.backends.pacing import TestPacing
from generation.backends.registry import family_of
from generation.errors import Cancelled, GenerationError, OutOfMemory
from generation.prompting import build_request
from generation.request import GenerationRequest


def _req(text: str = "rain on a tin roof", **kw: object) -> GenerationRequest:
    params: dict[str, object] = {"seed": 7, "steps": 10, "duration": 2.5, "guidance": 6.0} | kw
    return build_request(text, **params)  # type: ignore[arg-type]


def _hop(engine: Backend) -> int:
    """The model's time resolution in samples: one mel frame (AudioLDM2) or one sample (cropped)."""
    return 160 if engine.family == "audioldm2" else 1


def test_it_is_a_backend_of_its_registered_family(tiny_backend: Backend) -> None:
    assert isinstance(tiny_backend, Backend)
    family = family_of(tiny_backend.model_name)
    assert tiny_backend.family == family.key
    assert (tiny_backend.sample_rate, tiny_backend.channels) == (family.sample_rate, family.channels)
    assert tiny_backend.max_duration_s >= 30.0  # every clip the product offers fits one call


@pytest.mark.parametrize("duration", [2.5, 7.3])
def test_waveform_layout_and_length(tiny_backend: Backend, duration: float) -> None:
    (wave,) = tiny_backend.generate([_req(duration=duration)])
    assert wave.dtype == np.float32
    expected = int(duration * tiny_backend.sample_rate)
    assert abs(wave.shape[0] - expected) <= _hop(tiny_backend)
    if tiny_backend.channels == 1:
        assert wave.ndim == 1
    else:
        assert wave.shape[1:] == (2,) and wave.flags.c_contiguous
        assert np.abs(wave[:, 0] - wave[:, 1]).max() > 1e-3  # two channels, not one copied


def test_output_is_audible_and_not_clipped(tiny_backend: Backend) -> None:
    for seed in (0, 1):
        (wave,) = tiny_backend.generate([_req(seed=seed)])
        assert 0.05 <= float(np.abs(wave).max()) < 1.0
        assert float(np.sqrt(np.mean(wave**2))) > 0.005


def test_same_seed_same_audio_other_seed_or_prompt_other_audio(tiny_backend: Backend) -> None:
    (a,) = tiny_backend.generate([_req(seed=11)])
    (b,) = tiny_backend.generate([_req(seed=11)])
    (c,) = tiny_backend.generate([_req(seed=12)])
    (d,) = tiny_backend.generate([_req("crickets in a meadow", seed=11, negative="")])
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 0.01
    assert np.abs(a - d).max() > 1e-4


def test_request_gives_same_audio_alone_and_in_a_batch(tiny_backend: Backend) -> None:
    batch = [
        _req("ocean waves", seed=1),
        _req("a crackling fire in an old stone fireplace with wind howling outside", seed=2),
        _req("rain", seed=3, negative=""),
    ]
    together = tiny_backend.generate(batch)
    # The two extremes (the longest prompt, the empty negative) are checked alone.
    for index in (1, 2):
        (alone,) = tiny_backend.generate([batch[index]])
        assert np.abs(alone - together[index]).max() < 1e-3


def test_prompt_cache_is_used_and_does_not_change_audio(tiny_backend: Backend) -> None:
    tiny_backend.prompts.clear()
    request = _req("birdsong at dawn", seed=5)
    (first,) = tiny_backend.generate([request])
    hits = tiny_backend.prompts.hits
    (second,) = tiny_backend.generate([request])
    assert tiny_backend.prompts.hits == hits + 2  # prompt and negative prompt
    assert np.array_equal(first, second)
    misses = tiny_backend.prompts.misses
    tiny_backend.generate([_req("birdsong at dawn", seed=5, guidance=1.0)])  # unguided: no negative
    assert tiny_backend.prompts.misses == misses


def test_progress_fires_once_per_step_and_can_cancel(tiny_backend: Backend) -> None:
    seen: list[tuple[int, int]] = []
    tiny_backend.generate([_req(steps=12)], progress=lambda step, total: seen.append((step, total)))
    assert seen == [(i, 12) for i in range(1, 13)]

    calls = 0

    def cancel_at_three(step: int, _total: int) -> None:
        nonlocal calls
        calls += 1
        if step == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        tiny_backend.generate([_req(steps=20)], progress=cancel_at_three)
    assert calls == 3


def test_incompatible_batches_and_too_long_clips_are_refused(tiny_backend: Backend) -> None:
    with pytest.raises(GenerationError, match="share"):
        tiny_backend.generate([_req(steps=10), _req(steps=20)])
    with pytest.raises(GenerationError, match="share"):
        tiny_backend.generate([_req(duration=5.0), _req(duration=6.0)])
    too_long = dataclasses.replace(_req(), duration_s=tiny_backend.max_duration_s + 1)
    with pytest.raises(GenerationError, match="up to"):
        tiny_backend.generate([too_long])
    assert tiny_backend.generate([]) == []


def test_several_waveforms_per_request(tiny_backend: Backend) -> None:
    waves = tiny_backend.generate([_req(seed=3)], waveforms_per_request=2)
    assert len(waves) == 2 and np.abs(waves[0] - waves[1]).max() > 0.01
    (alone,) = tiny_backend.generate([_req(seed=4)])
    assert np.abs(waves[1] - alone).max() < 1e-3  # the second waveform is seed + 1


@pytest.mark.parametrize("scheduler", ["default", "dpm++", "ddim"])
def test_every_sampler_name_runs(tiny_backend: Backend, scheduler: str) -> None:
    (wave,) = tiny_backend.generate([_req(scheduler=scheduler)])
    assert np.isfinite(wave).all() and np.abs(wave).max() > 0.01


def test_out_of_memory_surfaces_as_its_own_type(tiny_backend: Backend, monkeypatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    # Raised from inside the real denoising loop, as a real OOM would be.
    monkeypatch.setattr(getattr(tiny_backend.pipe, tiny_backend.denoiser), "forward", boom)
    with pytest.raises(OutOfMemory):
        tiny_backend.generate([_req()])


def test_tiny_models_hold_and_the_warm_up_never_does(tiny_backend: Backend, tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.write_text("rain\n", encoding="utf-8")
    request = _req("rain at night", seed=1)
    saved = tiny_backend.pacing
    tiny_backend.pacing = TestPacing(hold)
    try:
        assert tiny_backend.warm_up(request) > 0  # not held, though "rain" is in the hold file
        steps: list[int] = []
        reported_thrice, done = threading.Event(), threading.Event()

        def progress(step: int, _total: int) -> None:
            steps.append(step)
            if len(steps) >= 3:
                reported_thrice.set()

        def generate() -> None:
            tiny_backend.generate([request], progress=progress)
            done.set()

        worker = threading.Thread(target=generate)
        worker.start()
        assert reported_thrice.wait(60)  # held after step 1, reporting it again while it waits
        assert set(steps[:3]) == {1} and not done.is_set()
        hold.write_text("thunder\n", encoding="utf-8")  # rewritten without "rain": released
        worker.join(120)
        assert done.is_set() and steps[-1] == 10
    finally:
        tiny_backend.pacing = saved


def test_automatic_batch_on_a_cpu(tiny_backend: Backend) -> None:
    assert tiny_backend.max_batch(10.0) == 4  # memory cannot be measured: the default
    assert tiny_backend.denoised_seconds(10.0) >= 10.0


def test_the_engine_and_its_familys_pure_rule_agree_on_the_work(tiny_backend: Backend) -> None:
    """The bot prices jobs by the family's rule without loading anything: it must be the engine's."""
    family = family_of(tiny_backend.model_name)
    for duration in (2.5, 4.0, 10.0, 17.3, 30.0):
        assert tiny_backend.denoised_seconds(duration) == pytest.approx(family.denoised_seconds(duration))


def test_best_of_n_ranks_with_clap(tiny_backend: Backend) -> None:
    ranked = tiny_backend.generate_ranked(_req("waves on a beach", seed=40), 3)
    assert sorted(c.request.seed for c in ranked.candidates) == [40, 41, 42]
    scores = [c.score for c in ranked.candidates]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)
    best = ranked.best
    (alone,) = tiny_backend.generate([best.request])
    assert np.abs(alone - best.audio).max() < 1e-3  # each candidate is reproducible alone
    (again,) = tiny_backend.clap_scores(ranked.text, [best.audio])
    assert again == pytest.approx(best.score, abs=1e-5)
