"""Stored MP3s become 48 kHz stereo loops: sample-accurate resampling, seams kept seamless."""

from __future__ import annotations

import numpy as np
import pytest

from bot.voice.loops import SAMPLE_RATE, UnplayableAudio, playable_loop, resample_periodic, to_stereo
from generation.audio.looping import make_seamless_loop
from generation.audio.mp3 import encode_mp3
from generation.audio.seam import seam_report


def noise(seconds: float, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * rate)) * 0.1).astype(np.float32)


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_a_periodic_tone_is_resampled_sample_accurately_across_the_wrap(rate: int) -> None:
    seconds = 2.0
    t = np.arange(round(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * 250 * t)  # a whole number of cycles: periodic over the clip
    out = resample_periodic(tone, rate)[:, 0]
    assert out.shape[0] == round(seconds * SAMPLE_RATE)
    expected = np.sin(2 * np.pi * 250 * np.arange(out.shape[0]) / SAMPLE_RATE)
    assert np.max(np.abs(out - expected)) < 1e-3
    # Round and round: the last sample flows into the first like any other pair.
    assert abs(out[0] - out[-1]) <= np.max(np.abs(np.diff(out))) + 1e-6


def test_a_loop_file_stays_seamless_at_48_khz() -> None:
    loop = make_seamless_loop(noise(6.0), 16_000)
    assert not seam_report(loop, 16_000).stands_out
    played = playable_loop(encode_mp3(loop, 16_000, 128), already_loops=True)
    assert played.shape == (loop.shape[0] * 3, 2) and played.dtype == np.float32
    assert np.array_equal(played[:, 0], played[:, 1])
    assert not seam_report(played[:, 0], SAMPLE_RATE).stands_out


def test_a_plain_clip_loses_its_fades_and_becomes_a_loop() -> None:
    clip = noise(6.0, seed=3)
    clip[:800] *= np.linspace(0, 1, 800)  # 50 ms fade-in
    clip[-4000:] *= np.linspace(1, 0, 4000)  # 250 ms fade-out
    played = playable_loop(
        encode_mp3(clip, 16_000, 128), already_loops=False, trim_start_s=0.05, trim_end_s=0.25
    )
    assert played.shape[0] < (6.0 - 0.3) * SAMPLE_RATE
    report = seam_report(played[:, 0], SAMPLE_RATE)
    assert not report.stands_out, report
    # No dip is left at the turn: the quietest 100 ms is as loud as the clip's quiet parts.
    blocks = played[: played.shape[0] // 4800 * 4800, 0].reshape(-1, 4800)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    assert rms.min() > 0.5 * np.median(rms)


def test_refusals_say_why() -> None:
    with pytest.raises(UnplayableAudio, match="not a decodable MP3"):
        playable_loop(b"not an mp3 at all" * 100, already_loops=True)
    short = encode_mp3(noise(1.5), 16_000, 128)
    with pytest.raises(UnplayableAudio, match="too short to loop"):
        playable_loop(short, already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
    tiny_loop = encode_mp3(noise(0.5), 16_000, 128)
    with pytest.raises(UnplayableAudio, match="too short to play"):
        playable_loop(tiny_loop, already_loops=True)


def test_channels_become_two() -> None:
    mono = np.ones((10, 1))
    assert to_stereo(mono).shape == (10, 2)
    four = np.stack([np.full(10, v) for v in (0.0, 1.0, 0.5, 0.0)], axis=1)
    assert to_stereo(four)[0].tolist() == [0.25, 0.5]
