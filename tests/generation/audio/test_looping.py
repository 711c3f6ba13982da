"""Seamless loops: the seam measures of a loop lie within the clip's own range."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from generation.audio.finishing import FinishSettings
from generation.audio.looping import (
    LoopPoint,
    find_loop_point,
    loop_finish_settings,
    make_seamless_loop,
)
from generation.audio.seam import seam_report
from generation.backends.audioldm2.engine import AudioEngine
from generation.prompting import build_request

SR = 16_000


def _brown_noise(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lfilter([1.0], [1.0, -0.95], rng.standard_normal(int(seconds * SR))) * 0.02


def _swelling_noise() -> np.ndarray:
    """Noise rising 12 dB over 10 s: played round, its end drops back 12 dB at once."""
    x = _brown_noise(10.0, seed=1)
    return x * 10 ** (np.linspace(-12.0, 0.0, x.shape[0]) / 20)


def _drone() -> np.ndarray:
    """Two tones whose periods do not divide the clip: played round, the waveform jumps."""
    t = np.arange(10 * SR) / SR
    noise = np.random.default_rng(2).standard_normal(t.shape[0])
    return 0.3 * np.sin(2 * np.pi * 110.3 * t) + 0.1 * np.sin(2 * np.pi * 55.17 * t) + 0.01 * noise


@pytest.mark.parametrize(
    ("make", "naive_flaw"),
    [(_swelling_noise, "loudness"), (_drone, "step")],
    ids=["level-discontinuity", "waveform-discontinuity"],
)
def test_loop_removes_a_known_discontinuity(make, naive_flaw: str) -> None:
    clip = make()
    naive = seam_report(clip, SR)
    assert naive.stands_out
    if naive_flaw == "loudness":
        assert naive.seam_jump_db > 10.0 > 5 * naive.jump_max_db
    else:
        assert naive.seam_step > 1.5 * naive.step_max

    looped = seam_report(make_seamless_loop(clip, SR), SR)
    assert not looped.stands_out, looped
    assert looped.seam_step <= looped.step_p999
    assert looped.seam_jump_db <= looped.jump_p99_db


def test_drone_is_crossfaded_in_phase_without_a_swell() -> None:
    clip = _drone()
    point = find_loop_point(clip, SR)
    assert point.rho > 0.9  # the end was slid to where the tones line up
    loop = make_seamless_loop(clip, SR, point=point)
    # Constant amplitude through the crossfade (an equal-power fade would swell by 3 dB).
    envelope = [np.sqrt(np.mean(loop[i : i + 1600] ** 2)) for i in range(0, loop.shape[0] - 1600, 1600)]
    assert max(envelope) / min(envelope) < 1.1


@pytest.mark.parametrize("seed", [1, 2])
def test_loop_of_the_tiny_model_output(tiny_engine: AudioEngine, seed: int) -> None:
    (wave,) = tiny_engine.generate([build_request("rain on a tin roof", seed=seed, steps=10, duration=10)])
    loop = make_seamless_loop(wave, SR)
    report = seam_report(loop, SR)
    assert not report.stands_out, report
    assert report.step_ratio <= 1.0
    assert report.seam_jump_db <= report.jump_max_db
    # Most of the clip is kept: at most the crossfade plus 15 % at each end is trimmed.
    assert 0.5 * wave.shape[0] < loop.shape[0] < wave.shape[0]
    assert loop.dtype == np.float32


@pytest.mark.parametrize("seed", [2335435112, 3383310246])
def test_a_seam_that_would_stand_out_is_avoided_by_searching_further(
    tiny_engine: AudioEngine, seed: int
) -> None:
    # With these seeds the most alike ends meet at a loudness step bigger than any in the clip
    # (found by the end-to-end loop test); another cut, further in, does not.
    (wave,) = tiny_engine.generate([build_request("waves on a pebble beach", seed=seed, duration=8.0)])
    best = find_loop_point(wave, SR)
    assert seam_report(make_seamless_loop(wave, SR, point=best), SR).stands_out
    loop = make_seamless_loop(wave, SR)
    assert not seam_report(loop, SR).stands_out
    assert loop.shape[0] > 0.5 * wave.shape[0]


def test_loop_is_the_clip_with_its_end_blended_into_its_start() -> None:
    clip = _brown_noise(6.0, seed=4)
    point = find_loop_point(clip, SR, crossfade_s=0.5)
    loop = make_seamless_loop(clip, SR, point=point)
    assert loop.shape[0] == point.length
    fade = point.crossfade
    body = loop[: point.length - fade]
    source = clip[point.start + fade : point.end]
    # Apart from the slow level tilt, the body is the source itself.
    ratio = body / np.where(source == 0, 1, source)
    assert np.all(np.abs(np.diff(ratio)) < 1e-3)
    # The last sample continues into the first exactly as the source did.
    assert loop[-1] / ratio[0] == pytest.approx(clip[point.start + fade - 1], rel=1e-3, abs=1e-6)


def test_loop_point_search_stays_near_the_ends() -> None:
    clip = _brown_noise(20.0, seed=5)
    point = find_loop_point(clip, SR, crossfade_s=1.0)
    assert point.start <= 3.0 * SR
    assert point.end >= clip.shape[0] - point.crossfade - 3.0 * SR - 256
    assert point.end + point.crossfade <= clip.shape[0]
    assert find_loop_point(clip, SR, crossfade_s=1.0) == point  # deterministic


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.5 s"):
        make_seamless_loop(np.zeros(1000), SR)
    with pytest.raises(ValueError, match="mono"):
        find_loop_point(np.zeros((2, SR)), SR)
    with pytest.raises(ValueError, match="positive"):
        find_loop_point(np.zeros(SR), SR, crossfade_s=0.0)
    with pytest.raises(ValueError, match="does not fit"):
        make_seamless_loop(np.zeros(SR), SR, point=LoopPoint(0, SR - 100, 200, 0.0, 0.0))
    with pytest.raises(ValueError, match="at least"):
        seam_report(np.zeros(SR), SR)


def test_silence_loops_to_silence() -> None:
    loop = make_seamless_loop(np.zeros(4 * SR, dtype=np.float32), SR)
    assert not np.any(loop)


def test_loops_are_finished_without_fades() -> None:
    settings = loop_finish_settings(FinishSettings(target_lufs=-20.0))
    assert (settings.fade_in_s, settings.fade_out_s, settings.target_lufs) == (0.0, 0.0, -20.0)


# --- stereo, 44.1 kHz -----------------------------------------------------------------------------

SR_STEREO = 44_100


def _stereo_brown_noise(seconds: float, seed: int) -> np.ndarray:
    """Two independent brown noises: a wide stereo bed, left louder than right."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR_STEREO)
    sides = [lfilter([1.0], [1.0, -0.95], rng.standard_normal(n)) * 0.02 for _ in range(2)]
    return np.stack([sides[0], 0.6 * sides[1]], axis=1)


@pytest.mark.parametrize("seed", [3, 4])
def test_a_stereo_clip_loops_seamlessly_on_both_channels(seed: int) -> None:
    clip = _stereo_brown_noise(8.0, seed)
    loop = make_seamless_loop(clip, SR_STEREO)
    assert loop.dtype == np.float32 and loop.ndim == 2 and loop.shape[1] == 2
    assert 0.5 * clip.shape[0] < loop.shape[0] < clip.shape[0]
    report = seam_report(loop, SR_STEREO)
    assert not report.stands_out, report
    for side in (0, 1):  # each channel alone is seamless too
        assert not seam_report(loop[:, side], SR_STEREO).stands_out
    # The image is kept: the right stays about 0.6 of the left, before and after the seam.
    ratio = np.std(loop[:, 1]) / np.std(loop[:, 0])
    assert ratio == pytest.approx(np.std(clip[:, 1]) / np.std(clip[:, 0]), rel=0.1)


def test_a_stereo_loop_is_cut_at_the_same_sample_on_both_sides() -> None:
    clip = _stereo_brown_noise(6.0, seed=6)
    point = find_loop_point(clip, SR_STEREO, crossfade_s=0.5)
    loop = make_seamless_loop(clip, SR_STEREO, point=point)
    for side in (0, 1):
        alone = make_seamless_loop(np.ascontiguousarray(clip[:, side]), SR_STEREO, point=point)
        # Same cut and crossfade per channel; only the level tilt (from both channels) may differ.
        body = slice(point.crossfade, loop.shape[0] - point.crossfade)
        assert np.corrcoef(loop[body, side], alone[body])[0, 1] > 0.999


def test_a_naive_stereo_wrap_stands_out_and_the_loop_does_not() -> None:
    clip = _stereo_brown_noise(8.0, seed=7)
    clip[:, 1] *= np.linspace(0.25, 4.0, clip.shape[0])  # the right swells 24 dB: a naive wrap jumps
    assert seam_report(clip, SR_STEREO).stands_out
    assert not seam_report(make_seamless_loop(clip, SR_STEREO), SR_STEREO).stands_out
