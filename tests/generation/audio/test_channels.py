"""The audio layout after the model: mono (n,), stereo (n, 2); anything else refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from generation.audio.channels import as_audio, channel_count, downmix, per_sample, with_channels


def test_layouts_are_read_and_checked() -> None:
    mono, stereo = np.ones(8, np.float32), np.ones((8, 2), np.float32)
    assert as_audio(mono).shape == (8,) and as_audio(mono).dtype == np.float64
    assert as_audio(stereo).shape == (8, 2)
    assert as_audio(np.ones((8, 1))).shape == (8,)  # a column of one channel is mono
    assert as_audio(np.ones((1, 8))).shape == (8,)  # so is a row
    assert (channel_count(mono), channel_count(stereo)) == (1, 2)
    with pytest.raises(ValueError, match=r"\(samples, 2\)"):
        as_audio(np.ones((2, 8)))  # channel-first stereo is refused, not guessed
    with pytest.raises(ValueError, match=r"\(samples, 2\)"):
        as_audio(np.ones((8, 6)))
    with pytest.raises(ValueError, match="floating"):
        as_audio(np.ones(8, dtype=np.int16))
    with pytest.raises(ValueError, match="empty"):
        as_audio(np.zeros((0, 2)))
    cleaned = as_audio(np.array([[np.nan, np.inf], [1.0, -np.inf]]))
    assert np.array_equal(cleaned, [[0.0, 0.0], [1.0, 0.0]])


def test_downmix_upmix_and_per_sample_gains() -> None:
    stereo = np.stack([np.full(4, 1.0), np.full(4, -0.5)], axis=1)
    assert np.allclose(downmix(stereo), 0.25)
    assert with_channels(np.arange(3.0), 2).tolist() == [[0, 0], [1, 1], [2, 2]]
    assert np.allclose(with_channels(stereo, 1), 0.25)
    assert with_channels(stereo, 2) is stereo
    with pytest.raises(ValueError, match="channels"):
        with_channels(stereo, 3)
    gains = np.array([0.0, 0.5, 1.0, 2.0])
    assert np.array_equal(stereo * per_sample(gains, stereo), [[0, 0], [0.5, -0.25], [1, -0.5], [2, -1]])
