"""Soundscapes stream from disk: the same loop as decoding it whole, in bounded memory."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bot.voice.cycle import UnplayableAudio, _point_of_ends, plan_cycle
from bot.voice.feeder import Feeder
from bot.voice.loops import playable_loop
from bot.voice.stream import AHEAD_S, SAMPLE_RATE, StreamingLoop
from generation.audio.looping import find_loop_point, make_seamless_loop
from generation.audio.mp3 import decode_mp3, encode_mp3
from generation.audio.seam import seam_report


def noise(seconds: float, rate: int = 16_000, seed: int = 0, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (round(seconds * rate),) if channels == 1 else (round(seconds * rate), channels)
    return (rng.standard_normal(shape) * 0.1).astype(np.float32)


def stored(tmp_path: Path, audio: np.ndarray, rate: int = 16_000, name: str = "x.mp3") -> Path:
    path = tmp_path / name
    path.write_bytes(encode_mp3(audio, rate, 128))
    return path


def stream(source: StreamingLoop, samples: int) -> np.ndarray:
    """What the audio thread reads, 20 ms at a time, with the feeder's work done in between."""
    out = []
    for _ in range(-(-samples // 960)):
        source.refill()
        out.append(source.take(960))
    return np.concatenate(out)[:samples]


# The streaming resampler starts cold (the reference treats the start as a wrap-around);
# playback starts with a one-second fade-in, so only the first few samples may differ.
COLD_START = 1000


def test_a_loop_file_streams_as_the_whole_loop_turn_after_turn(tmp_path: Path) -> None:
    path = stored(tmp_path, make_seamless_loop(noise(6.0), 16_000))
    reference = playable_loop(path.read_bytes(), already_loops=True)
    source = StreamingLoop(plan_cycle(path, already_loops=True))
    n = reference.shape[0]
    played = stream(source, 3 * n + 5000)
    expected = np.concatenate([reference] * 4)[: played.shape[0]]
    # Every wrap-around (at n, 2n, 3n) is as seamless as the reference's own periodic resampling.
    assert np.max(np.abs(played[COLD_START:] - expected[COLD_START:])) < 1e-4
    assert source.underruns == 0
    assert not seam_report(played[n : 2 * n, 0], SAMPLE_RATE).stands_out


def test_a_plain_clip_streams_as_the_loop_made_of_it(tmp_path: Path) -> None:
    clip = noise(8.0, seed=3, channels=2)
    clip[:800] *= np.linspace(0, 1, 800)[:, None]
    clip[-4000:] *= np.linspace(1, 0, 4000)[:, None]
    path = stored(tmp_path, clip)
    reference = playable_loop(path.read_bytes(), already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
    cycle = plan_cycle(path, already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
    assert cycle.seam is not None and cycle.seam.shape[0] < 2 * 16_000  # only the seam is held
    played = stream(StreamingLoop(cycle), 2 * reference.shape[0] + 3000)
    expected = np.concatenate([reference] * 3)[: played.shape[0]]
    assert np.max(np.abs(played[COLD_START:] - expected[COLD_START:])) < 1e-4


def test_a_long_clip_is_searched_at_its_ends_only_and_finds_the_same_loop(tmp_path: Path) -> None:
    rate = 16_000
    t = np.arange(45 * rate) / rate
    drone = 0.1 * np.sin(2 * np.pi * 110 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.07 * t))
    path = stored(tmp_path, (noise(45.0, seed=5) * 0.5 + drone).astype(np.float32))
    whole, _ = decode_mp3(path.read_bytes())
    with sf.SoundFile(path) as f:
        ends = _point_of_ends(f, 0, f.frames, rate)
    full = find_loop_point(whole.astype(np.float64), rate)
    assert (ends.start, ends.end, ends.crossfade) == (full.start, full.end, full.crossfade)
    assert ends.rho == pytest.approx(full.rho, abs=1e-6)


def test_memory_stays_bounded_whatever_the_length(tmp_path: Path) -> None:
    # Four minutes of 44.1 kHz stereo: 85 MiB as float32 if it were decoded whole.
    rate, seconds = 44_100, 240.0
    path = stored(tmp_path, noise(seconds, rate=rate, seed=7, channels=2), rate=rate)
    tracemalloc.start()
    try:
        cycle = plan_cycle(path, already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
        source = StreamingLoop(cycle)
        tracemalloc.reset_peak()
        most_ready = 0
        for _ in range(1500):  # 30 s of playback
            source.refill()
            most_ready = max(most_ready, source.buffered)
            source.take(960)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert most_ready <= round(AHEAD_S * SAMPLE_RATE) + round(0.1 * SAMPLE_RATE) + 960
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MiB while streaming"
    assert source.underruns == 0


def test_the_feeder_keeps_sources_ahead_and_drops_closed_ones(tmp_path: Path) -> None:
    path = stored(tmp_path, make_seamless_loop(noise(3.0), 16_000))
    feeder = Feeder()
    source = StreamingLoop(plan_cycle(path, already_loops=True))
    ready = threading.Event()
    original = source.refill

    def refill() -> None:
        original()
        if source.buffered >= source.ahead:
            ready.set()

    released = threading.Event()
    original_release = source.release

    def release() -> None:
        original_release()
        released.set()

    source.refill = refill  # type: ignore[method-assign]
    source.release = release  # type: ignore[method-assign]
    feeder.add(source)
    assert ready.wait(10.0)
    source.close()
    # Closing wakes the feeder, which forgets the source and then releases its file.
    assert released.wait(10.0)
    assert feeder.sources == 0


def test_refusals_say_why(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not an mp3 at all" * 100)
    with pytest.raises(UnplayableAudio, match="not a decodable MP3"):
        plan_cycle(junk, already_loops=True)
    with pytest.raises(UnplayableAudio, match="too short to loop"):
        plan_cycle(stored(tmp_path, noise(1.5)), already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
    with pytest.raises(UnplayableAudio, match="too short to play"):
        plan_cycle(stored(tmp_path, noise(0.5), name="y.mp3"), already_loops=True)
