"""Measuring a loop's seam: its wrap-around step and loudness jump against the clip's own range."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyloudnorm

from generation.audio.channels import as_audio
from generation.audio.loudness import GATING_BLOCK_S

#: Short-term loudness windows for seam measurement: BS.1770 momentary blocks, 100 ms apart.
LOUDNESS_HOP_S = 0.1
_BLOCKS_PER_WINDOW = round(GATING_BLOCK_S / LOUDNESS_HOP_S)

#: Loudness floor (BS.1770 absolute gate): silent windows count as -70 LUFS, not -inf.
LOUDNESS_FLOOR_LUFS = -70.0


@dataclass(frozen=True)
class SeamReport:
    """How a loop's wrap-around (last sample → first sample) compares with the clip itself.

    Steps are ``|x[n+1] - x[n]|`` (for stereo the larger of the two channels); loudness jumps are
    the change of momentary loudness (K-weighted, 400 ms, channels summed) between the window
    just before and just after a boundary, at every 100 ms boundary. The seam's own windows are
    excluded from the clip's distribution.
    """

    seam_step: float
    step_p999: float
    """99.9th percentile of the clip's own sample steps."""
    step_max: float
    seam_jump_db: float
    """Loudness change across the seam (LU)."""
    jump_p99_db: float
    jump_max_db: float
    """Largest loudness change across any boundary away from the seam (LU)."""

    @property
    def step_ratio(self) -> float:
        """Seam step relative to the clip's 99.9th percentile (≤ 1: not a click)."""
        return self.seam_step / self.step_p999 if self.step_p999 > 0 else math.inf

    @property
    def stands_out(self) -> bool:
        """Whether the seam is outside the clip's own range: a bigger step than 99.9 % of the
        clip's, or a bigger loudness jump than any inside it."""
        return self.seam_step > self.step_p999 or self.seam_jump_db > self.jump_max_db


def momentary_loudness(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """K-weighted loudness (LUFS) of 400 ms windows every 100 ms, floored at -70 LUFS.

    Window ``j`` starts at sample ``j * round(0.1 * sample_rate)`` (pyloudnorm's gating blocks).
    """
    overlap = 1.0 - LOUDNESS_HOP_S / GATING_BLOCK_S
    meter = pyloudnorm.Meter(sample_rate, block_size=GATING_BLOCK_S, overlap=overlap)
    meter.integrated_loudness(np.asarray(samples, dtype=np.float64))
    return np.maximum(np.asarray(meter.blockwise_loudness, dtype=np.float64), LOUDNESS_FLOOR_LUFS)


def seam_report(audio: np.ndarray, sample_rate: int) -> SeamReport:
    """Measure the wrap-around seam of a loop (mono or ``(n, 2)``) against the loop's own variation."""
    y = as_audio(audio)
    n = y.shape[0]
    hop = round(LOUDNESS_HOP_S * sample_rate)
    window = _BLOCKS_PER_WINDOW * hop
    if n < 4 * window:
        raise ValueError(f"seam measurement needs at least {4 * GATING_BLOCK_S:g} s of audio")
    steps = np.abs(np.diff(y, axis=0))
    if steps.ndim == 2:  # stereo: the larger step of the two channels at each sample
        steps = steps.max(axis=1)

    # Rotate so the seam sits mid-signal on a block boundary, and prepend one window of the
    # loop's own end so the loudness filter has settled before the first measured block.
    seam_at = (n // 2) // hop * hop
    rotated = np.roll(y, seam_at, axis=0)
    extended = np.concatenate((rotated[-window:], rotated))
    loudness = momentary_loudness(extended, sample_rate)[_BLOCKS_PER_WINDOW:]
    jumps = np.abs(loudness[_BLOCKS_PER_WINDOW:] - loudness[:-_BLOCKS_PER_WINDOW])
    boundaries = np.arange(_BLOCKS_PER_WINDOW, loudness.shape[0])  # boundary j: blocks j-4 | j
    seam_block = seam_at // hop
    near = np.abs(boundaries - seam_block) < _BLOCKS_PER_WINDOW
    inside = jumps[~near]
    return SeamReport(
        seam_step=float(np.max(np.abs(y[0] - y[-1]))),
        step_p999=float(np.percentile(steps, 99.9)),
        step_max=float(steps.max()),
        seam_jump_db=float(jumps[boundaries == seam_block][0]),
        jump_p99_db=float(np.percentile(inside, 99)),
        jump_max_db=float(inside.max()),
    )
