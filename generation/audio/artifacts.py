"""Artifact measures of a finished take: what a sound designer checks besides listening.

* **clipping** — the share of samples at or above full scale's edge (:data:`CLIP_LEVEL`);
* **level** — integrated loudness (LUFS) and true peak (dBFS);
* **spectral flatness over time** — per frame, the geometric over the arithmetic mean of the
  power spectrum (0: tonal, 1: white noise). Diffusion models' "crunchy" takes show up as frames
  flatter than the texture around them: the mean, the highest frame and a small curve over time
  (:attr:`Artifacts.flatness_curve`) make them visible in a table.

Pure numpy on decoded audio, mono or ``(samples, channels)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from generation.audio.channels import downmix
from generation.audio.loudness import integrated_loudness, true_peak_dbfs
from generation.audio.spectral import POWER_FLOOR, fft_size

#: A sample at or above this magnitude counts as clipped (a hair under 1.0: decoders round).
CLIP_LEVEL = 0.999
#: Points of the flatness curve.
CURVE_POINTS = 24
_BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Artifacts:
    """The measures of one take."""

    clipped_pct: float
    """Samples (over all channels) at or above :data:`CLIP_LEVEL`, in percent."""
    lufs: float
    peak_dbfs: float
    flatness_mean: float
    flatness_max: float
    """The flattest stretch (a moving mean over about a quarter second)."""
    flatness_curve: tuple[float, ...]
    """Mean flatness in :data:`CURVE_POINTS` equal stretches of the take."""

    @property
    def sparkline(self) -> str:
        """The flatness curve as bars, 0 to 1 on a square-root scale (takes of real sounds sit low)."""
        top = len(_BARS) - 1
        return "".join(_BARS[min(top, int(math.sqrt(max(v, 0.0)) * len(_BARS)))] for v in self.flatness_curve)


def flatness_frames(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Spectral flatness of each Hann-windowed frame (50 % overlap), shape ``(frames,)``."""
    x = downmix(np.asarray(samples, dtype=np.float64))
    n_fft = fft_size(sample_rate)
    if x.shape[0] < n_fft:
        return np.zeros(0)
    frames = sliding_window_view(x, n_fft)[:: n_fft // 2] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + POWER_FLOOR
    return np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)


def measure(samples: np.ndarray, sample_rate: int) -> Artifacts:
    """The :class:`Artifacts` of ``samples``."""
    x = np.asarray(samples, dtype=np.float64)
    clipped = float(np.mean(np.abs(x) >= CLIP_LEVEL) * 100) if x.size else 0.0
    flat = flatness_frames(x, sample_rate)
    if flat.size:
        hop_s = fft_size(sample_rate) / 2 / sample_rate
        width = max(1, min(flat.size, round(0.25 / hop_s)))
        smooth = np.convolve(flat, np.ones(width) / width, mode="valid")
        curve = tuple(float(np.mean(part)) for part in np.array_split(flat, min(CURVE_POINTS, flat.size)))
        mean, peak = float(np.mean(flat)), float(np.max(smooth))
    else:
        curve, mean, peak = (), math.nan, math.nan
    return Artifacts(
        clipped_pct=clipped,
        lufs=integrated_loudness(x, sample_rate),
        peak_dbfs=true_peak_dbfs(x),
        flatness_mean=mean,
        flatness_max=peak,
        flatness_curve=curve,
    )
