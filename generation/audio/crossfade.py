"""The one crossfade used everywhere audio is joined: loop seams and long-render joints.

An equal-power crossfade (sin/cos gains, ``out² + in² = 1``) keeps the level constant when the
two signals are uncorrelated — two different seeds of the same request, or two distant parts of
one noisy clip. When they are correlated (a drone aligned in phase with itself) equal power
would swell by up to 3 dB in the middle, so the gains are normalised by the correlation ``ρ``:
``out² + in² + 2ρ·out·in = 1``, which is equal power at ``ρ = 0`` and constant amplitude
(``out + in = 1``) at ``ρ = 1``.

Stereo ``(n, 2)`` signals get one pair of gain curves for both channels, from their joint
correlation, so the stereo image does not wander during the blend.
"""

from __future__ import annotations

import math

import numpy as np


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation (cosine similarity) of two equally shaped signals, over all their
    channels; 0 when either is silent."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"signals must have the same shape, got {a.shape} and {b.shape}")
    a, b = a.reshape(-1), b.reshape(-1)
    energy = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return float(np.dot(a, b)) / energy if energy > 0.0 else 0.0


def crossfade_gains(length: int, rho: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_out, fade_in)`` gain curves of ``length`` samples for signals of correlation ``rho``.

    The curves reach exactly 1 and 0 at their ends, so a crossfade starts on the outgoing signal's
    own sample and ends on the incoming one's: no step at either edge. Negative ``rho`` is
    treated as 0 (boosting to make up for cancellation would amplify noise-like material).
    """
    if length < 1:
        raise ValueError(f"crossfade length must be at least 1 sample, got {length}")
    if length == 1:
        return np.array([0.5]), np.array([0.5])
    theta = 0.5 * np.pi * np.arange(length) / (length - 1)
    fade_out, fade_in = np.cos(theta), np.sin(theta)
    r = min(max(float(rho), 0.0), 1.0)
    norm = 1.0 / np.sqrt(1.0 + 2.0 * r * fade_out * fade_in)
    return fade_out * norm, fade_in * norm


def crossfade(outgoing: np.ndarray, incoming: np.ndarray, rho: float | None = None) -> np.ndarray:
    """Blend ``outgoing`` into ``incoming`` (same shape, mono or ``(n, 2)``) with :func:`crossfade_gains`.

    ``rho`` defaults to the measured :func:`correlation` of the two signals. Returns float64.
    """
    a = np.asarray(outgoing, dtype=np.float64)
    b = np.asarray(incoming, dtype=np.float64)
    if a.ndim not in (1, 2) or a.shape != b.shape:
        raise ValueError(
            f"crossfade needs two signals of equal length and layout, (n,) or (n, 2); "
            f"got {a.shape} and {b.shape}"
        )
    fade_out, fade_in = crossfade_gains(a.shape[0], correlation(a, b) if rho is None else rho)
    if a.ndim == 2:
        fade_out, fade_in = fade_out[:, None], fade_in[:, None]
    return a * fade_out + b * fade_in
