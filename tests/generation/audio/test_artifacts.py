"""Artifact measures: clipping, level, spectral flatness over time."""

from __future__ import annotations

import numpy as np

from generation.audio.artifacts import CURVE_POINTS, measure


def test_noise_is_flat_a_tone_is_not_and_a_crunchy_burst_shows_in_the_curve() -> None:
    rate = 16_000
    rng = np.random.default_rng(0)
    t = np.arange(rate * 4) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = measure(0.1 * rng.standard_normal(t.size), rate)
    clean = measure(tone, rate)
    assert noise.flatness_mean > 0.4 and clean.flatness_mean < 0.01
    crunchy = tone.copy()
    crunchy[rate * 2 : rate * 3] += 0.3 * rng.standard_normal(rate)  # one noisy second
    burst = measure(crunchy, rate)
    assert len(burst.flatness_curve) == CURVE_POINTS and len(burst.sparkline) == CURVE_POINTS
    middle = burst.flatness_curve[CURVE_POINTS // 2 + 1]
    assert middle > 10 * burst.flatness_curve[0] and burst.flatness_max > 0.1
    assert burst.sparkline[0] != burst.sparkline[CURVE_POINTS // 2 + 1]


def test_clipping_and_level_over_every_channel() -> None:
    rate = 44_100
    rng = np.random.default_rng(1)
    stereo = np.clip(rng.standard_normal((rate * 2, 2)), -1.0, 1.0)
    result = measure(stereo, rate)
    expected = 100 * np.mean(np.abs(stereo) >= 0.999)
    assert abs(result.clipped_pct - expected) < 1e-9 and result.clipped_pct > 10
    assert result.peak_dbfs >= 0.0 and result.lufs > -10
    quiet = measure(0.01 * rng.standard_normal(rate * 2), rate)
    assert quiet.clipped_pct == 0.0 and quiet.lufs < -30


def test_too_short_for_a_frame() -> None:
    result = measure(np.zeros(100), 16_000)
    assert result.flatness_curve == () and result.sparkline == "" and np.isnan(result.flatness_mean)
