"""Short-time mel spectra: the spectral envelope that loop search compares and spectrograms draw.

Frames are Hann-windowed, not padded (frame ``k`` covers samples ``[k·hop, k·hop + n_fft)``),
and processed a bounded number at a time so memory stays small for long audio. The mel filter
bank is transformers' (already a dependency, and the same code the CLAP feature extractor uses).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Frames transformed per chunk: bounds the windowed-frame buffer to a few MB at any rate.
_FRAMES_PER_CHUNK = 256

#: Lowest mel band edge (Hz): below this is rumble no display or envelope needs.
MIN_FREQUENCY = 30.0

#: Power floor before taking logs (-120 dB, under 24-bit resolution).
POWER_FLOOR = 1e-12


def fft_size(sample_rate: int, seconds: float = 0.032) -> int:
    """The power of two nearest ``seconds`` of audio (512 at 16 kHz, 2048 at 48 kHz)."""
    return 2 ** round(math.log2(seconds * sample_rate))


@functools.lru_cache(maxsize=16)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Slaney-normalised float32 mel filters, ``(n_fft // 2 + 1, n_mels)``, 30 Hz to Nyquist (read-only)."""
    from transformers.audio_utils import mel_filter_bank

    basis = mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=MIN_FREQUENCY,
        max_frequency=sample_rate / 2,
        sampling_rate=sample_rate,
        norm="slaney",
        mel_scale="slaney",
    ).astype(np.float32)
    basis.flags.writeable = False
    return basis


@functools.lru_cache(maxsize=16)
def _hann(n_fft: int) -> np.ndarray:
    # Periodic Hann: half-overlapping frames sum to a constant.
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    window.flags.writeable = False
    return window


def frame_count(num_samples: int, n_fft: int, hop: int) -> int:
    """How many whole frames :func:`mel_power` yields for ``num_samples`` samples."""
    return 0 if num_samples < n_fft else (num_samples - n_fft) // hop + 1


def mel_power(samples: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> np.ndarray:
    """Mel-band power of each whole frame, shape ``(frames, n_mels)``.

    Computed in float32 (about twice as fast; pictures and envelope comparisons in dB need no
    more), returned as float64 for accumulation.
    """
    x = np.asarray(samples, dtype=np.float32)
    frames = frame_count(x.shape[0], n_fft, hop)
    out = np.empty((frames, n_mels))
    if frames == 0:
        return out
    basis = mel_basis(sample_rate, n_fft, n_mels)
    window = _hann(n_fft)
    views = sliding_window_view(x, n_fft)[::hop]
    for first in range(0, frames, _FRAMES_PER_CHUNK):
        chunk = views[first : first + _FRAMES_PER_CHUNK] * window
        spectrum = np.fft.rfft(chunk, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        out[first : first + chunk.shape[0]] = power @ basis
    return out


def to_db(power: np.ndarray) -> np.ndarray:
    """Power in dB, floored at -120 dB."""
    return 10.0 * np.log10(np.maximum(power, POWER_FLOOR))
