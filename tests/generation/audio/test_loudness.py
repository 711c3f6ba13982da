"""BS.1770 loudness and true peak of mono and stereo audio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generation.audio.loudness import integrated_loudness, true_peak


def _noise(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))


@pytest.mark.parametrize("rate", [16_000, 44_100])
def test_stereo_sums_the_channels(rate: int) -> None:
    mono = _noise(3.0, rate)
    both = np.stack([mono, mono], axis=1)
    # The same signal on two speakers is twice the power: +3.01 LU (BS.1770 channel weights 1, 1).
    assert integrated_loudness(both, rate) - integrated_loudness(mono, rate) == pytest.approx(
        10 * math.log10(2), abs=0.01
    )
    one_side = np.stack([mono, np.zeros_like(mono)], axis=1)
    assert integrated_loudness(one_side, rate) == pytest.approx(integrated_loudness(mono, rate), abs=0.01)


def test_true_peak_is_the_largest_of_the_channels_and_short_clips_are_nan() -> None:
    rate = 44_100
    quiet, loud = _noise(1.0, rate, 1) * 0.1, _noise(1.0, rate, 2)
    stereo = np.stack([quiet, loud], axis=1)
    assert true_peak(stereo) == pytest.approx(true_peak(loud))
    assert true_peak(stereo) >= np.abs(loud).max()
    assert math.isnan(integrated_loudness(np.zeros((1000, 2)), rate))
