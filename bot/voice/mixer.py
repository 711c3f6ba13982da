"""The live mix a voice player sends: loops going round, crossfades, and gains that glide.

Everything that changes the sound changes it sample by sample along a prepared curve — a
switch of soundscape is an equal-power crossfade (the generator's own curves), a volume change
a raised-cosine glide, pause and sleep fades likewise — so there is never a step in the signal
(a click) nor a gain that moves once per 20 ms frame (zipper noise).

The mixer is read by discord.py's audio thread (one 20 ms frame every 20 ms) and changed by the
event loop; one lock keeps each read and each change whole. Reading a frame costs a few tens of
microseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from bot.voice.loops import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE
from bot.voice.stream import ArrayLoop, Source
from generation.audio.crossfade import crossfade_gains

#: How long a volume change glides.
VOLUME_RAMP_S = 0.4
#: Pause and resume: quick, but not a cut.
PAUSE_RAMP_S = 0.15
#: Playback starts with this fade-in rather than at full level.
START_FADE_S = 1.0
#: Switching soundscapes crossfades over this long.
SWITCH_CROSSFADE_S = 3.0
#: 16-bit PCM full scale.
_FULL_SCALE = 32767.0


def glide(start: float, target: float, samples: int) -> np.ndarray:
    """A raised-cosine curve from ``start`` to ``target`` over ``samples``: flat at both ends."""
    samples = max(1, samples)
    if samples == 1:
        return np.array([target], dtype=np.float64)
    phase = np.arange(1, samples + 1) / samples
    return start + (target - start) * (1.0 - np.cos(np.pi * phase)) / 2.0


class Envelope:
    """A gain that follows a prepared curve one sample at a time, then holds the curve's end."""

    def __init__(self, value: float = 1.0) -> None:
        self._curve: np.ndarray | None = None
        self._index = 0
        self._hold = float(value)

    @property
    def value(self) -> float:
        """The gain of the next sample."""
        if self._curve is not None and self._index < self._curve.shape[0]:
            return float(self._curve[self._index])
        return self._hold

    @property
    def target(self) -> float:
        """Where the gain is going (its value once settled)."""
        return self._hold

    @property
    def settled(self) -> bool:
        return self._curve is None or self._index >= self._curve.shape[0]

    def follow(self, curve: np.ndarray) -> None:
        """Play ``curve`` from the next sample on (it should start near :attr:`value`)."""
        self._curve = np.asarray(curve, dtype=np.float64)
        self._index = 0
        self._hold = float(self._curve[-1])

    def glide_to(self, target: float, seconds: float) -> None:
        """Move smoothly from the current value to ``target`` over ``seconds``."""
        self.follow(glide(self.value, target, round(seconds * SAMPLE_RATE)))

    def take(self, count: int) -> np.ndarray:
        """The gains of the next ``count`` samples."""
        out = np.full(count, self._hold)
        if self._curve is not None and self._index < self._curve.shape[0]:
            part = self._curve[self._index : self._index + count]
            out[: part.shape[0]] = part
            self._index += part.shape[0]
        if self._curve is not None and self._index >= self._curve.shape[0]:
            self._curve = None  # played out: a crossfade's curves are not kept for the player's life
        return out


@dataclass
class _Voice:
    """One source going round, with its own gain (1 while alone, a crossfade curve while switching)."""

    source: Source
    gain: Envelope

    def take(self, count: int) -> np.ndarray:
        return self.source.take(count) * self.gain.take(count)[:, None]


class LoopMixer:
    """The sound of one voice player: loops, crossfades, volume, pause and fade-out."""

    def __init__(
        self, loop: np.ndarray | Source, *, volume: float = 1.0, fade_in_s: float = START_FADE_S
    ) -> None:
        self._lock = threading.Lock()
        self._voices = [_Voice(_source(loop), Envelope(1.0))]
        self._volume = Envelope(volume)
        self._pause = Envelope(0.0)
        self._pause.glide_to(1.0, fade_in_s)
        self._fade = Envelope(1.0)
        self.frames_read = 0

    # -- changes (event loop) ---------------------------------------------------------------

    def switch(self, loop: np.ndarray | Source, crossfade_s: float = SWITCH_CROSSFADE_S) -> None:
        """Crossfade from whatever plays now into ``loop`` (equal power), starting at its top."""
        source = _source(loop)
        length = max(2, round(crossfade_s * SAMPLE_RATE))
        fade_out, fade_in = crossfade_gains(length)
        with self._lock:
            for voice in self._voices:
                # A voice already fading keeps fading, from where it is: never a jump.
                voice.gain.follow(voice.gain.value * fade_out)
            incoming = Envelope(0.0)
            incoming.follow(fade_in)
            self._voices.append(_Voice(source, incoming))

    def set_volume(self, volume: float, ramp_s: float = VOLUME_RAMP_S) -> None:
        """Glide to ``volume`` (an amplitude factor, 0–1)."""
        with self._lock:
            self._volume.glide_to(min(max(volume, 0.0), 1.0), ramp_s)

    def pause(self, ramp_s: float = PAUSE_RAMP_S) -> None:
        with self._lock:
            self._pause.glide_to(0.0, ramp_s)

    def resume(self, ramp_s: float = PAUSE_RAMP_S) -> None:
        with self._lock:
            self._pause.glide_to(1.0, ramp_s)

    def fade_out(self, seconds: float) -> None:
        """Fade everything to silence over ``seconds`` (sleep timer, stop, leaving)."""
        with self._lock:
            self._fade.glide_to(0.0, max(seconds, 1 / SAMPLE_RATE))

    def cancel_fade(self, ramp_s: float = START_FADE_S) -> None:
        """Come back from a fade-out (a sleep timer was cleared)."""
        with self._lock:
            self._fade.glide_to(1.0, ramp_s)

    def close(self) -> None:
        """Let go of every source (the player stopped)."""
        with self._lock:
            for voice in self._voices:
                voice.source.close()

    # -- state ------------------------------------------------------------------------------

    @property
    def silent(self) -> bool:
        """Whether a pause or fade-out has reached silence (and stays there)."""
        with self._lock:
            return any(e.settled and e.target == 0.0 for e in (self._pause, self._fade))

    @property
    def switching(self) -> bool:
        with self._lock:
            return len(self._voices) > 1

    # -- reading (audio thread) -------------------------------------------------------------

    def read(self, count: int = FRAME_SAMPLES) -> np.ndarray:
        """The next ``count`` samples, ``(count, 2)`` float64."""
        with self._lock:
            mix = np.zeros((count, CHANNELS))
            for voice in self._voices:
                mix += voice.take(count)
            # Voices that have faded out for good are dropped; the newest always stays.
            for voice in self._voices[:-1]:
                if _faded(voice):
                    voice.source.close()  # sets a flag: the feeder thread closes the file
            self._voices = [v for v in self._voices[:-1] if not _faded(v)] + self._voices[-1:]
            gain = self._volume.take(count) * self._pause.take(count) * self._fade.take(count)
            self.frames_read += 1
            return mix * gain[:, None]

    def read_pcm(self) -> bytes:
        """One 20 ms frame as discord.py wants it: 16-bit little-endian interleaved stereo."""
        samples = np.clip(self.read() * _FULL_SCALE, -_FULL_SCALE - 1, _FULL_SCALE)
        return np.round(samples).astype("<i2").tobytes()


def _faded(voice: _Voice) -> bool:
    # cos(π/2) is 6e-17, not 0: anything this small is silence.
    return voice.gain.settled and abs(voice.gain.target) < 1e-9


def _source(loop: np.ndarray | Source) -> Source:
    """A source as it is; an array checked and wrapped as an in-memory loop."""
    if not isinstance(loop, np.ndarray):
        return loop
    x = np.asarray(loop, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != CHANNELS or x.shape[0] < FRAME_SAMPLES:
        raise ValueError(f"a loop must be (frames >= {FRAME_SAMPLES}, {CHANNELS}); got {x.shape}")
    return ArrayLoop(x)
