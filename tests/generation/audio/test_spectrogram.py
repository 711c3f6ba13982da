"""The spectrogram picture: a decodable PNG of the right size, deterministic, streamable, fast."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from generation.audio.spectrogram import SpectrogramBuilder, spectrogram_png

SR = 16_000


def _chirp(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    noise = np.random.default_rng(0).standard_normal(t.shape[0])
    return (0.3 * np.sin(2 * np.pi * (300 + 100 * t) * t) + 0.01 * noise).astype(np.float32)


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize("seconds", [2.5, 30.0])
def test_png_decodes_with_the_right_size(seconds: float) -> None:
    image = _image(spectrogram_png(_chirp(seconds), SR))
    assert image.format == "PNG"
    assert image.size == (600, 200)
    assert _image(spectrogram_png(_chirp(seconds), SR, width=300, height=80)).size == (300, 80)


def test_picture_shows_the_rising_tone_bright_over_dark_noise() -> None:
    pixels = np.asarray(_image(spectrogram_png(_chirp(10.0), SR)).convert("L"), dtype=float)
    # The tone is the brightest row of every column, and it climbs (row 0 is the top).
    peaks = pixels.argmax(axis=0)
    assert peaks[20] > peaks[300] > peaks[580]
    assert pixels.max(axis=0).mean() > 2 * np.median(pixels)


def test_deterministic_and_streaming_gives_the_same_bytes() -> None:
    audio = _chirp(12.0)
    whole = spectrogram_png(audio, SR)
    assert spectrogram_png(audio, SR) == whole
    builder = SpectrogramBuilder(SR, audio.shape[0])
    for start in range(0, audio.shape[0], 12_345):
        builder.add(audio[start : start + 12_345])
    assert builder.png() == whole


def test_fast_for_30_seconds() -> None:
    audio = _chirp(30.0)
    spectrogram_png(audio, SR)  # imports and filter bank
    # This process's CPU time, best of five, with a wide margin: a guard against a slow path
    # (a Python loop per frame takes seconds), not a benchmark, so other work on the machine
    # cannot fail it (it takes about 0.05 s).
    best = min(_timed(lambda: spectrogram_png(audio, SR)) for _ in range(5))
    assert best < 0.5, best


def _timed(action) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def test_silence_and_tiny_clips_still_make_a_picture() -> None:
    assert _image(spectrogram_png(np.zeros(SR, dtype=np.float32), SR)).size == (600, 200)
    assert _image(spectrogram_png(_chirp(0.01), SR)).size == (600, 200)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="mono"):
        spectrogram_png(np.zeros((2, SR)), SR)
    with pytest.raises(ValueError, match="size"):
        SpectrogramBuilder(SR, SR, width=0)


def test_stereo_is_drawn_from_both_channels() -> None:
    rate = 44_100
    tone = _chirp(3.0)
    tone = np.interp(np.arange(3 * rate) / rate, np.arange(tone.shape[0]) / SR, tone)
    dual = spectrogram_png(np.stack([tone, tone], axis=1), rate)
    assert dual == spectrogram_png(tone, rate)  # the same signal on both sides: the mono picture
    # Opposite phases cancel in a sum; the picture averages powers, so the tone stays visible.
    opposite = spectrogram_png(np.stack([tone, -tone], axis=1), rate)
    assert opposite == dual
    builder = SpectrogramBuilder(rate, tone.shape[0])
    for first in range(0, tone.shape[0], 10_000):
        builder.add(np.stack([tone, tone], axis=1)[first : first + 10_000])
    assert builder.png() == dual  # streaming stereo blocks gives the same bytes
