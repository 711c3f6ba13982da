"""The layout of audio arrays everywhere after the model: mono ``(samples,)``, stereo ``(samples, 2)``.

Models hand back mono as a 1-D array (AudioLDM2, 16 kHz) and stereo as ``(samples, 2)`` (Stable
Audio, 44.1 kHz): time always runs along axis 0, so slicing, fades and crossfades work on both
layouts alike with a trailing axis broadcast. ``(samples, 1)`` and ``(1, samples)`` are read as
mono; channel-first stereo ``(2, samples)`` is refused rather than guessed, since a 2-sample
stereo clip and a 2-channel one would be indistinguishable.
"""

from __future__ import annotations

import numpy as np

#: Channel counts the audio chain handles (MP3 carries at most two).
MAX_CHANNELS = 2


def channel_count(audio: np.ndarray) -> int:
    """1 for ``(n,)`` or ``(n, 1)``, else the size of the channel axis of ``(n, C)``."""
    x = np.asarray(audio)
    return 1 if x.ndim == 1 else int(x.shape[1])


def as_audio(audio: np.ndarray, *, dtype: type = np.float64) -> np.ndarray:
    """``audio`` as ``(n,)`` (mono) or ``(n, 2)`` (stereo) floats, NaN and infinities set to 0.

    Raises ValueError for non-float data, an empty signal or any other shape, naming the layout.
    """
    x = np.asarray(audio)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"audio must be floating point, got {x.dtype}")
    if x.ndim == 2 and (x.shape[1] == 1 or (x.shape[0] == 1 and x.shape[1] > MAX_CHANNELS)):
        x = x.reshape(-1)  # (n, 1) or (1, n): mono
    if not (x.ndim == 1 or (x.ndim == 2 and x.shape[1] == MAX_CHANNELS)):
        raise ValueError(f"audio must be mono (samples,) or stereo (samples, 2); got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("audio is empty")
    # One copy, cleaned in place: long signals (minutes of stereo) are copied once, not twice.
    return np.nan_to_num(x.astype(dtype), copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def per_sample(gains: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """``gains`` (one per sample) shaped to multiply ``audio`` of either layout."""
    return gains if np.ndim(audio) == 1 else gains[:, None]


def downmix(audio: np.ndarray) -> np.ndarray:
    """A mono ``(n,)`` float64 version: the mean of the channels (mono is returned as it is)."""
    x = np.asarray(audio, dtype=np.float64)
    return x if x.ndim == 1 else x.mean(axis=1)


def with_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """``audio`` with ``channels`` channels: mono is copied to both sides, stereo is averaged to mono."""
    if channels not in (1, MAX_CHANNELS):
        raise ValueError(f"channels must be 1 or {MAX_CHANNELS}, got {channels}")
    x = np.asarray(audio)
    if channel_count(x) == channels:
        return x.reshape(-1) if channels == 1 else x
    if channels == 1:
        return downmix(x).astype(x.dtype)
    return np.repeat(x.reshape(-1, 1), MAX_CHANNELS, axis=1)
