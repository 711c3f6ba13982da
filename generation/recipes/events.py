"""Events of a scene (``thunder:0.5~60s``): short one-shots scattered at random times.

Punctual sounds are what text-to-audio models make best. An event layer is rendered like any
layer, then :func:`one_shots` cuts its few loudest moments out of it (trimmed to the sound, with
short fades), and :func:`scatter` places them at random onsets: a Poisson process of the asked
mean interval with a refractory gap of a quarter of it (:func:`next_gap`: the gap is
``mean/4 + Exp(3·mean/4)``, so onsets average ``mean`` and are never closer than ``mean/4``),
each at a slightly varied gain. A looping scene places them round its loop (an event near the
end goes on at the start), so the loop stays seamless. The voice player uses :func:`next_gap`
too, for endless scenes.
"""

from __future__ import annotations

import numpy as np

#: How many one-shots an event layer is cut into.
SHOTS = 3
#: A one-shot lasts at most this long.
MAX_SHOT_S = 4.0
#: And at least this long.
MIN_SHOT_S = 0.25
#: Energy envelope resolution.
_HOP_S = 0.01
#: A one-shot starts where the sound rises above this much under its peak, and ends where it
#: falls below this much under it.
ONSET_DB = -30.0
DECAY_DB = -40.0
FADE_IN_S = 0.005
FADE_OUT_S = 0.05
#: Event gains vary by up to this much (dB) around the asked level.
GAIN_SPREAD_DB = 3.0


def next_gap(rng: np.random.Generator, mean: float) -> float:
    """The interval to the next onset: the refractory quarter plus an exponential rest."""
    low = mean / 4
    return low + float(rng.exponential(mean - low))


def _envelope_db(x: np.ndarray, hop: int) -> np.ndarray:
    energy = x * x if x.ndim == 1 else np.sum(x * x, axis=1)
    frames = energy.shape[0] // hop
    power = energy[: frames * hop].reshape(frames, hop).mean(axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def one_shots(audio: np.ndarray, sample_rate: int, count: int = SHOTS) -> list[np.ndarray]:
    """Up to ``count`` one-shots of ``audio`` ((n,) or (n, 2)): its loudest moments, each from
    its rise to its decay (at most :data:`MAX_SHOT_S`), faded in and out briefly. A silent
    input gives none."""
    x = np.asarray(audio, dtype=np.float32)
    hop = max(1, round(_HOP_S * sample_rate))
    env = _envelope_db(x, hop)
    if env.size == 0 or env.max() <= -110.0:
        return []
    longest = round(MAX_SHOT_S / _HOP_S)
    taken = np.zeros(env.shape[0], dtype=bool)
    shots: list[np.ndarray] = []
    for peak in np.argsort(env)[::-1]:
        if len(shots) == count:
            break
        if taken[peak]:
            continue
        level = env[peak]
        start = peak
        while (
            start > 0
            and peak - start < longest // 4
            and env[start - 1] > level + ONSET_DB
            and not taken[start - 1]
        ):
            start -= 1
        end = peak + 1
        while end < env.shape[0] and end - start < longest and env[end] > level + DECAY_DB and not taken[end]:
            end += 1
        taken[max(0, start - longest // 4) : end + longest // 4] = True  # shots apart from each other
        if (end - start) * _HOP_S < MIN_SHOT_S:
            continue
        shot = x[start * hop : end * hop].copy()
        fade_in = min(round(FADE_IN_S * sample_rate), shot.shape[0] // 4)
        fade_out = min(round(FADE_OUT_S * sample_rate), shot.shape[0] // 4)
        ramp_in = np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
        ramp_out = np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
        shot[:fade_in] *= ramp_in if shot.ndim == 1 else ramp_in[:, None]
        shot[shot.shape[0] - fade_out :] *= ramp_out if shot.ndim == 1 else ramp_out[:, None]
        shots.append(shot)
    return shots


def scatter(
    shots: list[np.ndarray],
    length: int,
    sample_rate: int,
    every_s: float,
    rng: np.random.Generator,
    *,
    circular: bool,
) -> tuple[np.ndarray, list[int]]:
    """A stem of ``length`` samples with ``shots`` at random onsets (see the module docstring),
    and the onsets. ``circular``: shots running past the end go on at the start (a loop)."""
    shape = (length,) if not shots or shots[0].ndim == 1 else (length, shots[0].shape[1])
    stem = np.zeros(shape, dtype=np.float32)
    onsets: list[int] = []
    if not shots or length <= 0:
        return stem, onsets
    mean = every_s * sample_rate
    # Start at a random phase of the process, so the first onset is not always a gap in.
    at = -float(rng.uniform(0.0, mean))
    last_shot = -1
    while True:
        at += next_gap(rng, mean)
        onset = round(at)
        if onset >= length:
            break
        if onset < 0:
            continue
        choices = [i for i in range(len(shots)) if i != last_shot] or [0]
        index = choices[int(rng.integers(len(choices)))]
        last_shot = index
        gain = np.float32(10 ** (float(rng.uniform(-GAIN_SPREAD_DB, GAIN_SPREAD_DB)) / 20))
        shot = shots[index] * gain
        end = min(length, onset + shot.shape[0])
        stem[onset:end] += shot[: end - onset]
        rest = shot.shape[0] - (end - onset)
        if rest > 0 and circular:
            stem[: min(rest, length)] += shot[end - onset : end - onset + min(rest, length)]
        onsets.append(onset)
    return stem, onsets
