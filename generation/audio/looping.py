"""Seamless loops: choose where a clip's end can flow into its start and join it there.

A loop is cut from the clip as ``[start, end)``; the ``crossfade`` samples after ``end`` are
blended into the ``crossfade`` samples after ``start`` and placed at the *end* of the loop:

    loop = x[start + C : end]  +  crossfade(x[end : end + C], x[start : start + C])

so the loop's last sample is ``x[start + C - 1]`` and its first is ``x[start + C]``: playing it
round and round is as continuous as the clip itself. The crossfade sits at the end (not the
start) so that a streaming writer (:mod:`generation.recipes.long_render`) only has to hold back the
first ``C`` samples. :mod:`generation.audio.seam` measures how the seam compares with the clip.

Where to cut: the two crossfade regions should sound alike, so :func:`find_loop_point` compares
the mel spectral envelopes (dB) of every candidate pair near the clip's two ends and takes the
closest, then slides the end by up to one analysis hop to the best waveform correlation (tonal
drones then blend in phase). Any remaining level difference between the two regions is spread
over the whole loop as a slow gain tilt, so the crossfade never carries a level jump.

Stereo ``(n, 2)`` clips loop as one: the envelopes compared are the channels' mean mel power,
the alignment maximises the correlation summed over both channels, and both channels are cut,
tilted and crossfaded with the same gains, so the stereo image is continuous through the seam.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import correlate

from generation.audio.channels import as_audio, per_sample
from generation.audio.crossfade import correlation, crossfade
from generation.audio.finishing import FinishSettings
from generation.audio.loudness import db_to_gain
from generation.audio.seam import seam_report
from generation.audio.spectral import fft_size, frame_count, mel_power, to_db

if TYPE_CHECKING:
    from generation.audio.seam import SeamReport

#: Default crossfade of a loop seam: long enough to hide a change of texture, short enough to
#: keep most of a 10 s clip.
DEFAULT_CROSSFADE_S = 1.5

#: Loop points are searched within this share of the clip at each end (and at most
#: :data:`MAX_SEARCH_S`), so a loop keeps most of the clip.
SEARCH_FRACTION = 0.15
#: The second, wider search when no cut of the first has an inconspicuous seam.
WIDE_SEARCH_FRACTION = 0.3
#: Loop cuts tried, best first, until one's seam is within the clip's own range.
CANDIDATE_POINTS = 6
#: Loops shorter than this are too short for :func:`seam_report` (four 400 ms windows).
SEAM_CHECK_MIN_S = 1.6
MAX_SEARCH_S = 5.0

#: Mel bands of the spectral envelope compared at candidate loop points.
ENVELOPE_BANDS = 24

#: The level tilt that matches the two crossfade regions is capped: a region much quieter than
#: the other is a pause in the sound, not a level to match.
MAX_LEVEL_MATCH_DB = 12.0


def _signal(audio: np.ndarray) -> np.ndarray:
    """Float64 ``(n,)`` or ``(n, 2)`` (see :func:`generation.audio.channels.as_audio`)."""
    return as_audio(audio)


def _envelope_db(x: np.ndarray, sample_rate: int, n_fft: int, hop: int) -> np.ndarray:
    """Mel envelope (dB) per frame; for stereo the mean of the channels' powers (no phase cancelling)."""
    if x.ndim == 1:
        return to_db(mel_power(x, sample_rate, n_fft, hop, ENVELOPE_BANDS))
    power = sum(mel_power(x[:, c], sample_rate, n_fft, hop, ENVELOPE_BANDS) for c in range(x.shape[1]))
    return to_db(power / x.shape[1])


def _energy(x: np.ndarray) -> np.ndarray:
    """Per-sample energy summed over the channels."""
    return x * x if x.ndim == 1 else np.sum(x * x, axis=1)


@dataclass(frozen=True)
class LoopPoint:
    """Where a loop is cut: ``[start, end)`` of the source, with ``crossfade`` samples blended."""

    start: int
    end: int
    crossfade: int
    distance_db: float
    """RMS difference of the two crossfade regions' mel envelopes (dB; 0 = identical)."""
    rho: float
    """Waveform correlation of the two crossfade regions at the chosen alignment."""

    @property
    def length(self) -> int:
        """Samples in the loop."""
        return self.end - self.start


def _crossfade_samples(num_samples: int, sample_rate: int, crossfade_s: float) -> int:
    if not (math.isfinite(crossfade_s) and crossfade_s > 0):
        raise ValueError(f"crossfade_s must be a positive number of seconds, got {crossfade_s}")
    if num_samples < sample_rate // 2:
        raise ValueError(f"a loop needs at least 0.5 s of audio, got {num_samples / sample_rate:.3f} s")
    # A quarter of the clip at most, so the loop keeps the larger part of it.
    return max(1, min(round(crossfade_s * sample_rate), num_samples // 4))


def _diagonal_window_sums(gram: np.ndarray, width: int, rows: int, cols: int) -> np.ndarray:
    """``out[i, j] = sum_k gram[i + k, j + k]`` for ``k < width``."""
    out = np.zeros((rows, cols))
    for k in range(width):
        out += gram[k : k + rows, k : k + cols]
    return out


def _window_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sums of ``width`` consecutive values (``len(values) - width + 1`` of them)."""
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    return cumulative[width:] - cumulative[:-width]


def find_loop_point(
    audio: np.ndarray,
    sample_rate: int,
    crossfade_s: float = DEFAULT_CROSSFADE_S,
    *,
    search_s: float | None = None,
) -> LoopPoint:
    """The loop cut whose two crossfade regions are most alike.

    ``start`` is searched in the first ``search_s`` seconds and ``end`` in the last
    ``search_s`` + crossfade (default: 15 % of the clip, at most 5 s). Similarity is the mean
    squared difference of 24-band mel envelopes in dB, frame by frame over the crossfade, so
    both the spectral shape and its movement must match; the end is then refined to the sample
    by normalised cross-correlation within one analysis hop.
    """
    return loop_point_candidates(audio, sample_rate, crossfade_s, search_s=search_s, count=1)[0]


def loop_point_candidates(
    audio: np.ndarray,
    sample_rate: int,
    crossfade_s: float = DEFAULT_CROSSFADE_S,
    *,
    search_s: float | None = None,
    count: int = CANDIDATE_POINTS,
) -> list[LoopPoint]:
    """Up to ``count`` loop cuts, most alike first (see :func:`find_loop_point`).

    Candidates differ in start or end by at least a crossfade, so each is a real alternative.
    """
    x = _signal(audio)
    n = x.shape[0]
    fade = _crossfade_samples(n, sample_rate, crossfade_s)
    if search_s is None:
        search_s = min(SEARCH_FRACTION * n / sample_rate, MAX_SEARCH_S)
    # Keep at least two crossfades between start and end, whatever was asked.
    search = min(max(round(search_s * sample_rate), 0), max((n - 3 * fade) // 2, 0))
    n_fft = fft_size(sample_rate)
    hop = n_fft // 2

    head = x[: search + fade]
    tail_offset = n - fade - search
    tail = x[tail_offset:]
    a = _envelope_db(head, sample_rate, n_fft, hop)
    b = _envelope_db(tail, sample_rate, n_fft, hop)
    width = max(1, frame_count(fade, n_fft, hop))
    rows, cols = a.shape[0] - width + 1, b.shape[0] - width + 1
    if rows < 1 or cols < 1:
        cuts = [(0, n - fade, math.nan)]
    else:
        # Mean over the crossfade of ||a[i+k] - b[j+k]||², for every (i, j), without a 4-D array.
        squares = (
            _window_sums(np.sum(a * a, axis=1), width)[:rows, None]
            + _window_sums(np.sum(b * b, axis=1), width)[None, :cols]
            - 2.0 * _diagonal_window_sums(a @ b.T, width, rows, cols)
        ) / (width * ENVELOPE_BANDS)
        cuts = []
        for flat in np.argsort(squares, axis=None, kind="stable"):
            i, j = np.unravel_index(int(flat), squares.shape)
            start, end = int(i) * hop, tail_offset + int(j) * hop
            if any(abs(start - s) < fade and abs(end - e) < fade for s, e, _ in cuts):
                continue
            cuts.append((start, end, math.sqrt(max(float(squares[i, j]), 0.0))))
            if len(cuts) == count:
                break
    points = []
    for start, end, distance in cuts:
        aligned, rho = _align_end(x, start, end, fade, hop)
        points.append(LoopPoint(start=start, end=aligned, crossfade=fade, distance_db=distance, rho=rho))
    return points


def _align_end(x: np.ndarray, start: int, end: int, fade: int, reach: int) -> tuple[int, float]:
    """``end`` moved by at most ``reach`` samples to where ``x[end:end+fade]`` best matches the start."""
    low = max(start + 2 * fade, end - reach)
    high = min(x.shape[0] - fade, end + reach)
    reference = x[start : start + fade]
    if high <= low:
        return end, correlation(reference, x[end : end + fade])
    candidates = x[low : high + fade]
    if x.ndim == 1:
        products = correlate(candidates, reference, mode="valid", method="fft")
    else:  # one alignment for both channels: their correlations add up
        products = sum(
            correlate(candidates[:, c], reference[:, c], mode="valid", method="fft")
            for c in range(x.shape[1])
        )
    energies = _window_sums(_energy(candidates), fade) * float(np.sum(_energy(reference)))
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(energies > 0.0, products / np.sqrt(energies), 0.0)
    best = int(np.argmax(scores))
    return low + best, float(scores[best])


def make_seamless_loop(
    audio: np.ndarray,
    sample_rate: int,
    crossfade_s: float = DEFAULT_CROSSFADE_S,
    *,
    point: LoopPoint | None = None,
) -> np.ndarray:
    """A float32 loop of ``audio`` (mono or ``(n, 2)``) whose end flows into its start (see the
    module docstring).

    Without a ``point``, the cuts of :func:`loop_point_candidates` are tried best first and the
    first whose seam does not stand out (:func:`seam_report`) is kept — the most alike ends
    can still meet at a level step the clip itself never makes. If none does, the search is
    widened to :data:`WIDE_SEARCH_FRACTION` of the clip at each end; if every seam still stands
    out, the least conspicuous one wins. The loop is shorter than the clip by the crossfade plus
    whatever the search trimmed at the ends.
    """
    x = _signal(audio)
    if point is not None:
        return _joined(x, point)
    best: tuple[float, np.ndarray] | None = None
    # The usual search first; a wider one (a shorter loop) only when no seam there passes.
    for search_s in (None, WIDE_SEARCH_FRACTION * x.shape[0] / sample_rate):
        for candidate in loop_point_candidates(x, sample_rate, crossfade_s, search_s=search_s):
            loop = _joined(x, candidate)
            if loop.shape[0] < SEAM_CHECK_MIN_S * sample_rate:
                return loop  # too short to measure a seam: the most alike ends it is
            excess = _excess(seam_report(loop, sample_rate))
            if excess <= 0.0:
                return loop
            if best is None or excess < best[0]:
                best = (excess, loop)
    assert best is not None  # there is always at least one candidate
    return best[1]


def _excess(report: SeamReport) -> float:
    """How far the seam lies outside the clip's own range (≤ 0: it does not stand out)."""
    step = report.seam_step / report.step_p999 - 1.0 if report.step_p999 > 0 else math.inf
    return max(step, report.seam_jump_db - report.jump_max_db)


def _joined(x: np.ndarray, p: LoopPoint) -> np.ndarray:
    start, end, fade = p.start, p.end, p.crossfade
    if not (0 <= start and start + 2 * fade <= end and end + fade <= x.shape[0]):
        raise ValueError(f"loop point {p} does not fit a clip of {x.shape[0]} samples")
    source = x[start : end + fade].copy()
    length = end - start

    # Spread the level difference of the two crossfade regions over the loop, in dB, from the
    # middle of the first region to the middle of the second.
    head_ms = float(np.mean(source[:fade] ** 2))
    tail_ms = float(np.mean(source[length:] ** 2))
    if head_ms > 0.0 and tail_ms > 0.0:
        tilt_db = min(max(10.0 * math.log10(head_ms / tail_ms), -MAX_LEVEL_MATCH_DB), MAX_LEVEL_MATCH_DB)
        position = np.clip((np.arange(source.shape[0]) - fade / 2) / length, 0.0, 1.0)
        source *= per_sample(db_to_gain(tilt_db) ** position, source)

    loop = np.empty((length, *source.shape[1:]))
    loop[: length - fade] = source[fade:length]
    loop[length - fade :] = crossfade(source[length:], source[:fade])
    return loop.astype(np.float32)


def loop_finish_settings(settings: FinishSettings) -> FinishSettings:
    """``settings`` without fades: a fade would put a dip at every repetition of a loop."""
    return dataclasses.replace(settings, fade_in_s=0.0, fade_out_s=0.0)
