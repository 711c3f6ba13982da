"""Loudness and true-peak measurement per ITU-R BS.1770-4, mono ``(n,)`` or stereo ``(n, 2)``.

Stereo loudness sums the K-weighted mean squares of both channels (BS.1770 channel weights
1.0 for left and right), so a mono signal copied to both sides measures 3 LU louder than the
mono signal itself — as it sounds on two speakers. The true peak is the largest over the channels.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

#: BS.1770 gating block; integrated loudness is undefined for anything shorter.
GATING_BLOCK_S = 0.4

#: BS.1770-4 annex 2 oversampling factor for true-peak estimation.
TRUE_PEAK_OVERSAMPLING = 4


def db_to_gain(db: float) -> float:
    """Linear amplitude factor for a level change in dB."""
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    """Level in dB of a linear amplitude; ``-inf`` for zero."""
    return 20.0 * math.log10(gain) if gain > 0.0 else -math.inf


def is_measurable(num_samples: int, sample_rate: int) -> bool:
    """Whether a clip is long enough for gated integrated loudness (one 400 ms block)."""
    # Same comparison pyloudnorm makes, so we never hand it a clip it rejects.
    return num_samples >= GATING_BLOCK_S * sample_rate


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Gated integrated loudness in LUFS (channels summed per BS.1770).

    ``-inf`` when every block is below the -70 LUFS absolute gate (silence), ``nan`` when the
    clip is shorter than one gating block.
    """
    x = np.asarray(samples, dtype=np.float64)
    if not is_measurable(x.shape[0], sample_rate):
        return math.nan
    meter = pyloudnorm.Meter(sample_rate, block_size=GATING_BLOCK_S)
    return float(meter.integrated_loudness(x))


def true_peak(samples: np.ndarray) -> float:
    """Linear true peak: the largest magnitude of the 4x oversampled signal (or of the samples),
    over every channel."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return 0.0
    oversampled = resample_poly(x, TRUE_PEAK_OVERSAMPLING, 1, axis=0)
    # The interpolation filter's ripple can sit a hair under a sample value; a true peak is
    # never below the sample peak.
    return float(max(np.max(np.abs(x)), np.max(np.abs(oversampled))))


def true_peak_dbfs(samples: np.ndarray) -> float:
    """True peak in dBTP (dB relative to full scale); ``-inf`` for silence."""
    return gain_to_db(true_peak(samples))
