"""A comparison's two files give nothing away: one format, one constant bitrate, one size."""

from __future__ import annotations

import dataclasses
import io
import random

import soundfile as sf

from generation.audio.finishing import FinishSettings
from generation.backends.base import Backend
from generation.models import ModelCatalog
from generation.recipes.compare import SIDES, finish_take
from generation.recipes.compare_order import build_compare

#: MPEG-1 Layer III bitrates (kbps) by header index, and sample rates by index.
_MPEG1_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG1_RATES = (44_100, 48_000, 32_000)


def frame_headers(mp3: bytes) -> list[tuple[int, int]]:
    """(bitrate kbps, channel mode) of every MPEG-1 Layer III frame after the ID3v2 tag."""
    offset = 0
    if mp3[:3] == b"ID3":
        size = mp3[6:10]
        offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    frames = []
    while offset + 4 <= len(mp3) and mp3[offset] == 0xFF and mp3[offset + 1] & 0xFE == 0xFA:
        header = mp3[offset + 2]
        kbps = _MPEG1_KBPS[header >> 4]
        rate = _MPEG1_RATES[(header >> 2) & 3]
        frames.append((kbps, mp3[offset + 3] >> 6))
        offset += 144 * kbps * 1000 // rate + ((header >> 1) & 1)
    assert offset >= len(mp3) - 128, "the frames should run to the end of the file"
    return frames


def test_takes_of_a_mono_and_a_stereo_model_are_alike_even_with_vbr_on(
    tiny_engine: Backend, tiny_sao_engine: Backend
) -> None:
    catalog = ModelCatalog.from_ids(["tiny", "tiny-sao"])
    _, recipe = build_compare("rain on a tin roof", catalog, seed=3, duration=3.0, rng=random.Random(0))
    engines = {"tiny": tiny_engine, "tiny-sao": tiny_sao_engine}
    settings = FinishSettings(mp3_vbr=True, mp3_bitrate_kbps=128)
    takes = []
    for request, side in zip(recipe.compare, SIDES, strict=True):
        engine = engines[request.model or ""]
        request = dataclasses.replace(request, steps=4)
        (audio,) = engine.generate([request])
        takes.append(finish_take(audio, engine.sample_rate, 44_100, 2, request, settings, side).mp3)
    assert {engines[r.model or ""].channels for r in recipe.compare} == {1, 2}  # a real mono/stereo pair
    headers = [frame_headers(mp3) for mp3 in takes]
    for frames in headers:
        assert {kbps for kbps, _ in frames} == {128}, "constant bitrate, every frame"
    assert [sf.info(io.BytesIO(mp3)).channels for mp3 in takes] == [2, 2]
    assert headers[0][0][1] == headers[1][0][1]  # the same channel mode in the headers
    assert abs(len(takes[0]) - len(takes[1])) <= 16, [len(mp3) for mp3 in takes]
