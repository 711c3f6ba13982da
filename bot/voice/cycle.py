"""How a stored MP3 goes round as a loop, planned without decoding the whole file.

A :class:`Cycle` says which frames of the file are streamed on each turn and what short seam
(held in memory) follows them. A file made as a loop plays whole, round and round. Any other
clip loses its fade-in and fade-out and is turned into a loop with the generator's own loop
code (:mod:`generation.audio.looping`): the most alike ends are found, and the loop becomes

    body = file[start + C : end]  (streamed, with the loop's slow level tilt)
    seam = crossfade(file[end : end + C], file[start : start + C])  (C samples, in memory)

which is exactly what :func:`generation.audio.looping.make_seamless_loop` builds, but only the
ends are ever decoded: a short clip (under :data:`WHOLE_CLIP_S`) is searched whole, with the
seam check of ``make_seamless_loop``; a long one only in its first and last seconds, where the
loop search looks anyway.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from generation.audio.crossfade import crossfade
from generation.audio.looping import (
    DEFAULT_CROSSFADE_S,
    MAX_LEVEL_MATCH_DB,
    MAX_SEARCH_S,
    SEARCH_FRACTION,
    WIDE_SEARCH_FRACTION,
    LoopPoint,
    loop_point_candidates,
    make_seamless_loop,
)
from generation.audio.loudness import db_to_gain
from generation.audio.seam import seam_report
from generation.audio.spectral import fft_size

#: Shortest loop worth playing: anything shorter would be a buzz, not a soundscape.
MIN_LOOP_S = 1.0
#: Clips up to this long are searched whole for their loop point (a few MiB, briefly).
WHOLE_CLIP_S = 30.0


#: One loop search at a time in the process: each briefly needs ~25 MiB (the ends of a long clip
#: and their spectra), and fifty players resuming after a restart must not need them all at once.
_SEARCHING = threading.Lock()


class UnplayableAudio(ValueError):
    """The stored file cannot be turned into a loop (not an MP3, or far too short)."""


@dataclass(frozen=True)
class Cycle:
    """One turn of a loop: ``file[body_start:body_end]`` (times a tilt), then ``seam``."""

    path: Path
    rate: int
    channels: int
    """The file's channels (1 or 2 are streamed as they are; more are mixed down to two)."""
    body_start: int
    body_end: int
    seam: np.ndarray | None = None
    """``(frames, channels)`` float32 played after the body, or None for a file made as a loop."""
    tilt_origin: int = 0
    """File frame where the loop's level tilt starts (the loop point's start)."""
    tilt_length: int = 0
    """Frames over which the tilt goes from 1 to :attr:`tilt_gain` (0: no tilt)."""
    tilt_gain: float = 1.0
    tilt_offset: float = 0.0
    """Half the crossfade: the tilt is measured from the middle of the first crossfade region."""

    @property
    def frames(self) -> int:
        """Frames per turn at the file's rate."""
        seam = 0 if self.seam is None else self.seam.shape[0]
        return self.body_end - self.body_start + seam

    def tilt(self, first: int, count: int) -> np.ndarray | None:
        """Gains of file frames ``first .. first + count`` (None where there is no tilt)."""
        if self.tilt_length <= 0 or self.tilt_gain == 1.0:
            return None
        position = (np.arange(first, first + count) - self.tilt_origin - self.tilt_offset) / self.tilt_length
        return self.tilt_gain ** np.clip(position, 0.0, 1.0)


def _open(path: Path) -> sf.SoundFile:
    try:
        f = sf.SoundFile(path)
    except sf.LibsndfileError as exc:
        raise UnplayableAudio(f"not a decodable MP3: {exc}") from exc
    if f.format != "MP3":
        f.close()
        raise UnplayableAudio(f"expected MP3 data, got {f.format}")
    return f


def _read(f: sf.SoundFile, start: int, stop: int) -> np.ndarray:
    """Frames ``start .. stop`` as ``(n, channels)`` float64."""
    f.seek(start)
    return f.read(stop - start, dtype="float64", always_2d=True)


def _signal(x: np.ndarray) -> np.ndarray:
    """What the loop search compares: mono ``(n,)`` or stereo ``(n, 2)``."""
    if x.shape[1] == 1:
        return x[:, 0]
    if x.shape[1] == 2:
        return x
    return np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)


def plan_cycle(
    path: Path, *, already_loops: bool, trim_start_s: float = 0.0, trim_end_s: float = 0.0
) -> Cycle:
    """How the MP3 at ``path`` loops (see the module docstring). Blocking: call it off the event loop."""
    with _open(path) as f:
        rate, channels, n = f.samplerate, f.channels, f.frames
        if already_loops:
            if n < MIN_LOOP_S * rate:
                raise UnplayableAudio(f"a {n / rate:.1f} s loop is too short to play")
            return Cycle(path, rate, min(channels, 2), 0, n)
        head = min(round(trim_start_s * rate), n)
        tail = min(round(trim_end_s * rate), n - head)
        first, last = head, n - tail
        usable = last - first
        if usable < 2 * MIN_LOOP_S * rate:
            raise UnplayableAudio(f"{usable / rate:.1f} s of audio is too short to loop")
        with _SEARCHING:
            if usable <= WHOLE_CLIP_S * rate:
                point = _point_of_whole(_signal(_read(f, first, last)), rate)
            else:
                point = _point_of_ends(f, first, last, rate)
        # Both regions of the crossfade, from the file itself (also the level they are matched at).
        start, end, fade = first + point.start, first + point.end, point.crossfade
        region_a = _signal(_read(f, start, start + fade))
        region_b = _signal(_read(f, end, end + fade))
    length = end - start
    head_ms, tail_ms = float(np.mean(region_a**2)), float(np.mean(region_b**2))
    gain = 1.0
    if head_ms > 0.0 and tail_ms > 0.0:
        tilt_db = min(max(10.0 * math.log10(head_ms / tail_ms), -MAX_LEVEL_MATCH_DB), MAX_LEVEL_MATCH_DB)
        gain = float(db_to_gain(tilt_db))
    untilted = Cycle(path, rate, min(channels, 2), start + fade, end, None, start, length, gain, fade / 2)
    a_gain, b_gain = untilted.tilt(start, fade), untilted.tilt(end, fade)
    if a_gain is not None and b_gain is not None:
        region_a = region_a * (a_gain if region_a.ndim == 1 else a_gain[:, None])
        region_b = region_b * (b_gain if region_b.ndim == 1 else b_gain[:, None])
    seam = crossfade(region_b, region_a)
    seam = (seam[:, None] if seam.ndim == 1 else seam).astype(np.float32)
    return dataclasses.replace(untilted, seam=seam)


def _point_of_whole(x: np.ndarray, rate: int) -> LoopPoint:
    """The loop point :func:`make_seamless_loop` would choose (seam check included)."""
    best: tuple[float, LoopPoint] | None = None
    for search_s in (None, WIDE_SEARCH_FRACTION * x.shape[0] / rate):
        for candidate in loop_point_candidates(x, rate, DEFAULT_CROSSFADE_S, search_s=search_s):
            loop = make_seamless_loop(x, rate, point=candidate)
            if loop.shape[0] < 1.6 * rate:
                return candidate
            report = seam_report(loop, rate)
            step = report.seam_step / report.step_p999 - 1.0 if report.step_p999 > 0 else math.inf
            excess = max(step, report.seam_jump_db - report.jump_max_db)
            if excess <= 0.0:
                return candidate
            if best is None or excess < best[0]:
                best = (excess, candidate)
    assert best is not None
    return best[1]


def _point_of_ends(f: sf.SoundFile, first: int, last: int, rate: int) -> LoopPoint:
    """The best loop point of a long clip, searching only its ends (as the full search does).

    The two ends are laid out with a gap between them so that :func:`loop_point_candidates`
    sees exactly the regions it would see in the whole clip: the first ``search + fade``
    frames, and the last ``search + fade`` plus one analysis hop for the end's alignment.
    """
    usable = last - first
    fade = max(1, min(round(DEFAULT_CROSSFADE_S * rate), usable // 4))
    search = min(round(min(SEARCH_FRACTION * usable / rate, MAX_SEARCH_S) * rate), (usable - 3 * fade) // 2)
    hop = fft_size(rate) // 2
    tail_from = last - (search + fade + hop)
    head_frames, gap = search + fade, fade + 1
    # Filled in place (no concatenation copies): this is the largest buffer of a player's life.
    compact = np.zeros((head_frames + gap + last - tail_from, f.channels), dtype=np.float32)
    f.seek(first)
    f.read(head_frames, dtype="float32", always_2d=True, out=compact[:head_frames])
    f.seek(tail_from)
    f.read(last - tail_from, dtype="float32", always_2d=True, out=compact[head_frames + gap :])
    point = loop_point_candidates(
        _signal(compact), rate, DEFAULT_CROSSFADE_S, search_s=search / rate, count=1
    )[0]
    # Back to clip coordinates: the end lies in the tail part of the compact signal.
    shift = (tail_from - first) - (head_frames + gap)
    return LoopPoint(point.start, point.end + shift, point.crossfade, point.distance_db, point.rho)
