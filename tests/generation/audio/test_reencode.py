"""Fitting an MP3 under an upload limit."""

from __future__ import annotations

import numpy as np
import pytest

from generation.audio.finishing import FinishSettings, finish
from generation.audio.mp3 import decode_mp3
from generation.audio.reencode import fit_mp3
from generation.audio.tags import Mp3Tags, read_tags


def _mp3(seconds: float = 10.0) -> bytes:
    rng = np.random.default_rng(3)
    audio = rng.normal(0, 0.1, int(16_000 * seconds)).astype(np.float32)
    tags = Mp3Tags(prompt="rain on a tin roof 🌧", seed=42, model="tiny")
    return finish(audio, 16_000, FinishSettings(mp3_bitrate_kbps=160), tags).mp3


def test_a_file_that_fits_is_untouched() -> None:
    data = _mp3()
    assert fit_mp3(data, len(data)) is data


def test_a_large_file_is_reencoded_to_fit_with_its_tags_and_length() -> None:
    data = _mp3()
    limit = len(data) // 2
    smaller = fit_mp3(data, limit)
    assert len(smaller) <= limit
    assert read_tags(smaller)["prompt"] == "rain on a tin roof 🌧"
    assert read_tags(smaller)["seed"] == "42"
    before, rate = decode_mp3(data)
    after, rate_after = decode_mp3(smaller)
    assert rate_after == rate and len(after) == len(before)


def test_impossible_limit_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        fit_mp3(_mp3(), 2_000)


def test_a_stereo_file_stays_stereo_when_shrunk() -> None:
    rate = 44_100
    rng = np.random.default_rng(2)
    done = finish(rng.standard_normal((20 * rate, 2)) * 0.1, rate, FinishSettings(mp3_bitrate_kbps=320))
    smaller = fit_mp3(done.mp3, len(done.mp3) // 2)
    assert len(smaller) <= len(done.mp3) // 2
    samples, decoded_rate = decode_mp3(smaller)
    assert decoded_rate == rate and samples.shape == (20 * rate, 2)
