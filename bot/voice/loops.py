"""A stored MP3 as one whole 48 kHz stereo loop in memory: the reference the streaming player matches.

The player itself never holds a whole soundscape: it streams (:mod:`bot.voice.cycle`,
:mod:`bot.voice.stream`). This module builds the same loop at once, for tests that compare
what the player sent with what it should have sent, and for short sounds made in memory.

Discord voice carries 48 kHz stereo Opus in 20 ms frames. A soundscape made as a loop
(``loop:True``) already flows from its end into its start; any other clip is turned into a
loop here with the same loop code the generator uses (the most alike ends, an equal-power
crossfade), after its fade-in and fade-out are cut off so no dip repeats at every turn.

Resampling treats the loop as periodic: it is padded with its own end before and its own start
after, resampled, and the padding is cut off again, so the filter sees the audio the listener
hears around the seam and the wrap-around stays as continuous as the source.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

from bot.voice.cycle import MIN_LOOP_S, UnplayableAudio
from generation.audio.looping import make_seamless_loop
from generation.audio.mp3 import decode_mp3

#: Discord voice audio: 48 kHz, two channels, 20 ms frames.
SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_SAMPLES = 960
__all__ = ["MIN_LOOP_S", "UnplayableAudio", "make_loop", "playable_loop", "resample_periodic", "to_stereo"]

#: Audio padded around the loop for the resampler (its filter is far shorter).
_PAD_S = 0.05


def _channels(samples: np.ndarray) -> np.ndarray:
    """``(frames, channels)`` float64, NaN-free."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def make_loop(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` ((frames,) or (frames, channels)) as a seamless loop, every channel cut alike."""
    x = _channels(audio)
    if x.shape[1] == 1:
        return make_seamless_loop(x[:, 0], sample_rate)[:, None].astype(np.float64)
    # Stereo loops as one (joint search, same cut and gains for both channels).
    return make_seamless_loop(to_stereo(x), sample_rate).astype(np.float64)


def resample_periodic(loop: np.ndarray, sample_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A loop at ``target_rate``, resampled as a periodic signal (see the module docstring)."""
    x = _channels(loop)
    n = x.shape[0]
    if sample_rate == target_rate:
        return x
    # Pad by a whole number of "rate periods" so the padding maps to a whole number of output samples.
    period = sample_rate // math.gcd(sample_rate, target_rate)
    pad = min(n, max(period, math.ceil(_PAD_S * sample_rate / period) * period))
    extended = np.concatenate((x[n - pad :], x, x[:pad]))
    out = soxr.resample(extended, sample_rate, target_rate, quality="HQ")
    start = pad * target_rate // sample_rate
    length = round(n * target_rate / sample_rate)
    return np.asarray(out[start : start + length], dtype=np.float64)


def to_stereo(x: np.ndarray) -> np.ndarray:
    """``(frames, 2)``: mono is doubled, more channels are mixed down to two."""
    if x.shape[1] == CHANNELS:
        return x
    if x.shape[1] == 1:
        return np.repeat(x, CHANNELS, axis=1)
    left = x[:, 0::2].mean(axis=1)
    right = x[:, 1::2].mean(axis=1)
    return np.stack([left, right], axis=1)


def playable_loop(
    mp3: bytes, *, already_loops: bool, trim_start_s: float = 0.0, trim_end_s: float = 0.0
) -> np.ndarray:
    """Decode ``mp3`` and return a 48 kHz stereo float32 loop, shaped ``(frames, 2)``.

    ``already_loops``: the file was made as a loop and is played round as it is. Otherwise
    ``trim_start_s`` and ``trim_end_s`` (the clip's fades) are cut off and a loop is made.
    CPU-bound (tens of milliseconds for a minute of audio): call it off the event loop.
    """
    try:
        samples, rate = decode_mp3(mp3)
    except ValueError as exc:
        raise UnplayableAudio(str(exc)) from exc
    x = _channels(samples)
    if not already_loops:
        head = min(round(trim_start_s * rate), x.shape[0])
        tail = min(round(trim_end_s * rate), x.shape[0] - head)
        x = x[head : x.shape[0] - tail]
        if x.shape[0] < 2 * MIN_LOOP_S * rate:
            raise UnplayableAudio(f"{x.shape[0] / rate:.1f} s of audio is too short to loop")
        x = make_loop(x, rate)
    if x.shape[0] < MIN_LOOP_S * rate:
        raise UnplayableAudio(f"a {x.shape[0] / rate:.1f} s loop is too short to play")
    return to_stereo(resample_periodic(x, rate)).astype(np.float32)
