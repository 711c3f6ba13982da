"""The result card's picture: real lengths of the encoded files and one stacked spectrogram."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from generation.audio.mp3 import encode_mp3
from generation.audio.result_picture import HEIGHT, WIDTH, picture_of


def _mp3(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return encode_mp3((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16_000, 64)


def test_lengths_are_read_from_the_files_and_variations_share_one_picture() -> None:
    picture = picture_of([_mp3(2.0), _mp3(3.5)])
    assert [round(d, 2) for d in picture.durations] == [2.0, 3.5]
    assert picture.png is not None
    assert Image.open(io.BytesIO(picture.png)).size[0] == WIDTH
    assert Image.open(io.BytesIO(picture_of([_mp3(1.0)]).png or b"")).size == (WIDTH, HEIGHT)
