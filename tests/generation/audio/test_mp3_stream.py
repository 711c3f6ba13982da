"""Incremental MP3 encoding: block by block gives the very bytes of a one-shot encode."""

from __future__ import annotations

import io
import tempfile

import numpy as np
import pytest

from generation.audio.mp3 import decode_mp3, encode_mp3
from generation.audio.mp3_stream import Mp3StreamEncoder, copy_tagged
from generation.audio.tags import Mp3Tags, read_tags

SR = 16_000


def _noise(seconds: float) -> np.ndarray:
    return (0.2 * np.random.default_rng(1).standard_normal(int(seconds * SR))).astype(np.float32)


def test_blocks_encode_to_the_same_bytes_as_one_call() -> None:
    audio = _noise(7.3)
    with tempfile.TemporaryFile() as sink:
        with Mp3StreamEncoder(sink, SR, 96) as encoder:
            for start in range(0, audio.shape[0], 10_007):  # blocks unrelated to MP3 frames
                encoder.write(audio[start : start + 10_007])
            encoder.write(audio[:0])
        out = io.BytesIO()
        size = copy_tagged(sink, out, Mp3Tags(prompt="rain", seed=3, model="tiny"))
    assert encoder.frames == audio.shape[0]
    data = out.getvalue()
    assert size == len(data)
    assert data.endswith(encode_mp3(audio, SR, 96))
    decoded, rate = decode_mp3(data)
    assert rate == SR and decoded.shape == audio.shape  # gapless, sample-exact
    assert read_tags(data)["seed"] == "3"


def test_bad_input_is_refused() -> None:
    with tempfile.TemporaryFile() as sink:
        with pytest.raises(ValueError, match="not an MP3 bitrate"):
            Mp3StreamEncoder(sink, SR, 320)
        with Mp3StreamEncoder(sink, SR, 64) as encoder:
            with pytest.raises(ValueError, match="NaN"):
                encoder.write(np.array([0.0, np.nan], dtype=np.float32))
            with pytest.raises(ValueError, match="mono"):
                encoder.write(np.zeros((2, 10), dtype=np.float32))


def test_stereo_blocks_encode_to_the_same_bytes_as_one_call() -> None:
    rate = 44_100
    audio = (np.random.default_rng(3).standard_normal((3 * rate, 2)) * 0.1).astype(np.float32)
    with tempfile.TemporaryFile() as sink:
        with Mp3StreamEncoder(sink, rate, 128, channels=2) as encoder:
            for first in range(0, audio.shape[0], 12_345):
                encoder.write(audio[first : first + 12_345])
            with pytest.raises(ValueError, match="stereo"):
                encoder.write(audio[:10, 0])
        sink.seek(0)
        streamed = sink.read()
    assert streamed == encode_mp3(audio, rate, 128)
    decoded, _ = decode_mp3(streamed)
    assert decoded.shape == audio.shape
    with tempfile.TemporaryFile() as sink, pytest.raises(ValueError, match="stereo"):
        Mp3StreamEncoder(sink, rate, 56, channels=2)
