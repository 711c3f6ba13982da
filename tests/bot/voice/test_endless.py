"""An endless scene, played through its mixer source with real MP3 takes on disk.

The issue's measures at the scale of a unit test (test knobs: 6 s takes, 1 s crossfades):
never repeats while new takes arrive (and a plain loop scores ≈ 1 on the same measure), no
gap or loudness dip at crossfades, starvation reshuffles never play a take twice in a row,
a layer set to 0 falls silent within a second without a click, events keep their rate.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from scipy.signal import correlate

from bot.voice.endless import BedLane, EndlessScene, event_lane, take_frames
from bot.voice.stream import SAMPLE_RATE, ArrayLoop
from bot.voice.timeline import BedTimeline, Take
from generation.audio.mp3 import encode_mp3

RATE = 16_000
TAKE_S = 6.0
FADE = SAMPLE_RATE  # 1 s crossfades
FRAME = 960


def coloured_noise(seed: int, seconds: float = TAKE_S) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(round(seconds * RATE))
    # A little colour so takes sound like a bed, not white noise; every seed differs.
    kernel = rng.uniform(0.2, 1.0, 8)
    return (np.convolve(x, kernel / kernel.sum(), mode="same") * 0.2).astype(np.float32)


def tone(hz: float, seconds: float = TAKE_S) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def store(tmp_path: Path, name: str, audio: np.ndarray) -> Path:
    path = tmp_path / f"{name}.mp3"
    path.write_bytes(encode_mp3(audio, RATE, 128))
    return path


def add(lane: BedLane, take_id: int, path: Path) -> None:
    frames, _, _ = take_frames(path)
    lane.add_take(Take(take_id, frames), path)


def play(scene: EndlessScene, seconds: float, every: dict[int, object] | None = None) -> np.ndarray:
    """Read ``seconds`` 20 ms at a time, the feeder's work done in between; ``every`` maps a frame
    number to a callable run there (a new take arriving)."""
    out = []
    for frame in range(round(seconds * SAMPLE_RATE / FRAME)):
        if every and frame in every:
            every[frame]()  # type: ignore[operator]
        scene.refill()
        out.append(scene.take(FRAME))
    return np.concatenate(out).astype(np.float64)


def decimated(x: np.ndarray, factor: int = 6) -> np.ndarray:
    mono = x.mean(axis=1)
    return mono[: mono.shape[0] // factor * factor].reshape(-1, factor).mean(axis=1)


def worst_repeat(audio: np.ndarray, window_s: float, away_s: float) -> float:
    """The highest normalised correlation (best lag) of any window with any earlier audio that
    ends more than ``away_s`` before it."""
    rate = SAMPLE_RATE // 6
    x = decimated(audio)
    w, away = round(window_s * rate), round(away_s * rate)
    worst = 0.0
    for start in range(w + away, x.shape[0] - w, w // 2):
        window = x[start : start + w]
        earlier = x[: start - away]
        if earlier.shape[0] < w:
            continue
        products = correlate(earlier, window, mode="valid", method="fft")
        energy = np.convolve(earlier**2, np.ones(w), mode="valid")
        norm = np.sqrt(np.maximum(energy, 1e-12) * float(np.dot(window, window)))
        worst = max(worst, float(np.max(products / norm)))
    return worst


def test_new_takes_keep_it_from_ever_repeating_where_a_loop_repeats_at_once(tmp_path: Path) -> None:
    lane = BedLane({}, BedTimeline(crossfade=FADE, seed=1))
    add(lane, 1, store(tmp_path, "t1", coloured_noise(1)))
    scene = EndlessScene([lane], [100])
    # A background render lands every 4 s (sooner than each take ends): always something fresh.
    arrivals = {
        round(k * 4.0 * SAMPLE_RATE / FRAME): (
            lambda k=k: add(lane, k + 1, store(tmp_path, f"t{k + 1}", coloured_noise(k + 1)))
        )
        for k in range(1, 12)
    }
    audio = play(scene, 45.0, arrivals)
    endless = worst_repeat(audio[SAMPLE_RATE:], window_s=2.0, away_s=1.0)
    assert endless < 0.5, endless
    assert len(set(lane.timeline.played)) == len(lane.timeline.played)  # every take played once

    # The same measure on a plain loop of the first take: it can fail, and does.
    from bot.voice.loops import playable_loop

    loop = playable_loop((tmp_path / "t1.mp3").read_bytes(), already_loops=True)
    source = ArrayLoop(loop)
    looped = np.concatenate([source.take(FRAME) for _ in range(round(20.0 * SAMPLE_RATE / FRAME))])
    assert worst_repeat(looped.astype(np.float64), window_s=2.0, away_s=1.0) > 0.95


def test_no_gap_and_no_dip_across_crossfades_and_starvation_never_repeats_back_to_back(
    tmp_path: Path,
) -> None:
    lane = BedLane({}, BedTimeline(crossfade=FADE, seed=2))
    for k in range(1, 4):
        add(lane, k, store(tmp_path, f"s{k}", coloured_noise(10 + k)))
    scene = EndlessScene([lane], [100])
    audio = play(scene, 60.0)  # no new take: ten segments reshuffled from three
    order = lane.timeline.played
    assert len(order) >= 10
    assert all(a != b for a, b in itertools.pairwise(order))
    # Loudness over 0.5 s blocks stays within ±3 dB of its median through every crossfade.
    blocks = audio[: audio.shape[0] // 24_000 * 24_000].reshape(-1, 24_000, 2)
    level = 10 * np.log10(np.mean(blocks**2, axis=(1, 2)))
    assert np.all(np.abs(level - np.median(level)) < 3.0), level
    assert all(p.source.underruns == 0 for p in lane._playing)


def test_a_layer_set_to_zero_falls_silent_within_a_second_without_a_click(tmp_path: Path) -> None:
    bed = BedLane({}, BedTimeline(crossfade=FADE, seed=3))
    add(bed, 1, store(tmp_path, "bed", coloured_noise(20) * 0.3))
    hum = BedLane({}, BedTimeline(crossfade=FADE, seed=4))
    add(hum, 2, store(tmp_path, "hum", tone(1000.0)))
    scene = EndlessScene([bed, hum], [100, 100])
    before = play(scene, 2.0)
    scene.set_level(1, 0)
    gliding = play(scene, 1.0)
    after = play(scene, 1.0)

    def hum_db(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x[:, 0] * np.hanning(x.shape[0])))
        bin_1k = round(1000.0 * x.shape[0] / SAMPLE_RATE)
        return 20 * np.log10(spectrum[bin_1k - 2 : bin_1k + 3].max() + 1e-12)

    assert hum_db(before[-SAMPLE_RATE:]) - hum_db(after) > 40.0  # the hum's own tone is gone
    # No click: the largest sample-to-sample step while gliding is no larger than the bed's own.
    steps = np.abs(np.diff(np.concatenate([before[-FRAME:], gliding]), axis=0)).max()
    assert steps <= np.abs(np.diff(before, axis=0)).max() * 1.05


def test_events_keep_their_rate_and_refractory_gap() -> None:
    shot = np.repeat(np.hanning(4800)[:, None], 2, axis=1).astype(np.float32)
    lane = event_lane([shot, shot * 0.5], every_s=2.0, gain=0.5, seed=5)
    scene = EndlessScene([lane], [100])
    for _ in range(round(600 * SAMPLE_RATE / FRAME)):  # ten minutes, events every 2 s
        scene.take(FRAME)
    gaps = np.diff(lane.onsets) / SAMPLE_RATE
    assert len(gaps) > 200
    assert 0.7 * 2.0 <= gaps.mean() <= 1.3 * 2.0
    assert gaps.min() >= 2.0 / 4 - 1 / SAMPLE_RATE
