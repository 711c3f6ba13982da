"""Sample-rate conversion (libsoxr): exact length, sample-aligned, band-limited, both layouts."""

from __future__ import annotations

import numpy as np
import pytest

from generation.audio.resample import conform, resample


def test_an_impulse_stays_where_it_was_in_time() -> None:
    for from_rate, to_rate in ((16_000, 44_100), (44_100, 16_000), (44_100, 48_000)):
        x = np.zeros(3 * from_rate, np.float32)
        x[from_rate] = 1.0  # at exactly 1 s
        y = resample(x, from_rate, to_rate)
        assert y.shape == (3 * to_rate,) and y.dtype == np.float32
        assert abs(int(np.argmax(np.abs(y))) - to_rate) <= 1


def test_a_tone_keeps_its_level_and_high_content_is_filtered_out() -> None:
    t = np.arange(44_100 * 2) / 44_100
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    down = resample(tone, 44_100, 16_000)
    assert np.sqrt(np.mean(down[1000:-1000] ** 2)) == pytest.approx(np.sqrt(0.5), rel=1e-3)
    high = np.sin(2 * np.pi * 12_000 * t).astype(np.float32)  # above 16 kHz's Nyquist
    assert np.abs(resample(high, 44_100, 16_000)[1000:-1000]).max() < 1e-3


def test_stereo_channels_are_resampled_alike_and_conform_sets_the_layout() -> None:
    rng = np.random.default_rng(0)
    left = rng.standard_normal(16_000).astype(np.float32)
    stereo = np.stack([left, -left], axis=1)
    y = resample(stereo, 16_000, 44_100)
    assert y.shape == (44_100, 2)
    np.testing.assert_allclose(y[:, 1], -y[:, 0], atol=1e-6)
    assert conform(left, 16_000, 44_100, 2).shape == (44_100, 2)
    assert conform(stereo, 16_000, 16_000, 1).shape == (16_000,)
    assert resample(left, 16_000, 16_000) is not left  # a float32 copy, never the caller's array
    with pytest.raises(ValueError, match="positive"):
        resample(left, 0, 16_000)
