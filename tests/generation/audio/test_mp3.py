"""MP3 for stereo and for the Stable Audio rate: bitrates per layout, gapless, level-true, checked."""

from __future__ import annotations

import numpy as np
import pytest

from generation.audio.mp3 import (
    clamp_bitrate,
    decode_mp3,
    encode_mp3,
    fit_bitrate,
    mp3_frames,
    supported_bitrates,
)


def _two_tones(rate: int, seconds: float = 2.0) -> np.ndarray:
    """A different tone on each side (band-limited, so the codec keeps them exactly)."""
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t + 1)], axis=1)


def test_stereo_needs_a_bigger_frame_than_mono() -> None:
    assert supported_bitrates(44_100)[0] == 56
    assert supported_bitrates(44_100, 2)[0] == 64
    assert supported_bitrates(48_000, 2)[0] == 64
    assert supported_bitrates(16_000, 2)[0] == 40
    assert supported_bitrates(44_100, 2)[-1] == 320
    assert clamp_bitrate(56, 44_100, 2) == 64
    assert clamp_bitrate(128, 44_100, 2) == 128
    with pytest.raises(ValueError, match="mono or stereo"):
        supported_bitrates(44_100, 3)


@pytest.mark.parametrize("rate", [16_000, 44_100, 48_000])
def test_stereo_round_trip_is_gapless_and_keeps_each_channel(rate: int) -> None:
    audio = _two_tones(rate).astype(np.float32)
    for bitrate in supported_bitrates(rate, 2):
        data = encode_mp3(audio, rate, bitrate)
        decoded, decoded_rate = decode_mp3(data)
        assert decoded_rate == rate and decoded.shape == audio.shape, bitrate  # sample-exact
        assert mp3_frames(data) == audio.shape[0]
        levels = np.std(decoded, axis=0) / np.std(audio, axis=0)
        np.testing.assert_allclose(levels, 1.0, atol=0.01)
        # Each side keeps its own tone: the left is not the right.
        assert np.corrcoef(decoded[:, 0], audio[:, 0])[0, 1] > 0.99, bitrate


def test_a_stereo_bitrate_too_small_for_gapless_decoding_is_refused() -> None:
    audio = _two_tones(44_100).astype(np.float32)
    with pytest.raises(ValueError, match=r"56 kbps is not an MP3 bitrate at 44100 Hz \(stereo\).*64"):
        encode_mp3(audio, 44_100, 56)
    with pytest.raises(ValueError, match=r"stereo \(frames, 2\)"):
        encode_mp3(np.zeros((100, 3), np.float32), 44_100, 128)


def test_fit_bitrate_for_ten_stereo_minutes_at_44_1_khz() -> None:
    # The long render's case: 10 minutes of Stable Audio under Discord's 10 MiB.
    assert fit_bitrate(600.0, 10 * 1024 * 1024, 44_100, channels=2) == 128
    with pytest.raises(ValueError, match="64 kbps"):
        fit_bitrate(3600.0, 10 * 1024 * 1024, 44_100, channels=2)
