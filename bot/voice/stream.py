"""Sources the mixer reads: a loop decoded while it plays, or a short loop held in memory.

A :class:`StreamingLoop` decodes its :class:`~bot.voice.cycle.Cycle` from disk a block at a
time and resamples it to 48 kHz with soxr's streaming resampler, keeping only a few hundred
milliseconds of audio ready. The resampler is fed turn after turn without a break, so it sees
exactly the periodic signal the listener hears and the wrap-around is as smooth as the rest —
the same result the old whole-file periodic resampling gave, without the whole file.

Two threads touch a source: :meth:`refill` runs on the feeder thread (:mod:`bot.voice.feeder`:
file I/O and resampling) and :meth:`take` on the audio thread (a copy out of the ready blocks,
no I/O, no waiting). A short lock guards the ready blocks; if the feeder ever falls behind, the
audio thread plays silence for the missing samples rather than wait, and counts it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np
import soundfile as sf
import soxr

from bot.voice.cycle import Cycle, UnplayableAudio

log = logging.getLogger(__name__)

#: Discord voice audio: 48 kHz, two channels.
SAMPLE_RATE = 48_000
CHANNELS = 2
#: How much audio a source keeps ready ahead of the audio thread.
AHEAD_S = 0.4
#: Below this much ready audio the feeder is woken to decode more.
LOW_WATER_S = 0.25
#: Frames of the file decoded at a time (at its own rate).
BLOCK_S = 0.1


class Source(Protocol):
    """What the mixer plays: ``take`` on the audio thread, ``close`` from anywhere."""

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` samples, ``(count, 2)`` float32."""
        ...

    def close(self) -> None: ...


class ArrayLoop:
    """A short loop held in memory (tests, and sounds made in memory), going round."""

    def __init__(self, loop: np.ndarray) -> None:
        self.loop = loop
        self.position = 0

    def take(self, count: int) -> np.ndarray:
        n = self.loop.shape[0]
        index = (self.position + np.arange(count)) % n
        self.position = (self.position + count) % n
        return self.loop[index]

    def close(self) -> None:
        pass


def _stereo(x: np.ndarray) -> np.ndarray:
    if x.shape[1] == CHANNELS:
        return x
    if x.shape[1] == 1:
        return np.repeat(x, CHANNELS, axis=1)
    return np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)


class StreamingLoop:
    """A :class:`Cycle` played round and round, decoded and resampled a block at a time."""

    def __init__(
        self, cycle: Cycle, *, ahead_s: float = AHEAD_S, block_s: float = BLOCK_S, once: bool = False
    ) -> None:
        self.cycle = cycle
        self.once = once
        """Play the cycle through once, then silence (an endless scene's take), instead of looping."""
        self.finished = False
        """``once`` and every sample has been decoded and resampled."""
        self.ahead = round(ahead_s * SAMPLE_RATE)
        self.low_water = min(self.ahead, round(LOW_WATER_S * SAMPLE_RATE))
        self.block = max(256, round(block_s * cycle.rate))
        self._file: sf.SoundFile | None = None
        self._cursor = cycle.body_start
        """Next file frame of the body, or ``body_end`` while the seam plays."""
        self._seam_at = 0
        self._resampler = (
            None
            if cycle.rate == SAMPLE_RATE
            else soxr.ResampleStream(cycle.rate, SAMPLE_RATE, cycle.channels, dtype="float32", quality="HQ")
        )
        self._ready: deque[np.ndarray] = deque()
        self._ready_frames = 0
        self._head = 0  # frames of _ready[0] already taken
        self._lock = threading.Lock()
        self.closed = False
        self.underruns = 0
        """Samples the audio thread had to fill with silence (the feeder fell behind)."""
        self.wake: Callable[[], None] = lambda: None
        """Set by the feeder: asks it to refill soon (called from the audio thread)."""

    # -- feeder thread -------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """48 kHz frames ready for the audio thread."""
        with self._lock:
            return self._ready_frames - self._head

    @property
    def name(self) -> str:
        return self.cycle.path.name

    def refill(self) -> None:
        """Decode until :data:`AHEAD_S` of audio is ready (feeder thread, or a test)."""
        while not self.closed and not self.finished and self.buffered < self.ahead:
            self._push(self._next_block())

    def _next_block(self) -> np.ndarray:
        c = self.cycle
        if self._cursor < c.body_end:
            if self._file is None:
                try:
                    self._file = sf.SoundFile(c.path)
                except sf.LibsndfileError as exc:
                    raise UnplayableAudio(f"not a decodable MP3: {exc}") from exc
                self._file.seek(self._cursor)
            count = min(self.block, c.body_end - self._cursor)
            x = self._file.read(count, dtype="float32", always_2d=True)
            if x.shape[0] == 0:
                raise UnplayableAudio(f"{c.path.name} ended early at frame {self._cursor}")
            if x.shape[1] > 2:
                x = _stereo(x)
            gains = c.tilt(self._cursor, x.shape[0])
            if gains is not None:
                x = (x * gains[:, None]).astype(np.float32)
            self._cursor += x.shape[0]
            if self._cursor >= c.body_end and c.seam is None:
                self._turn()
            return x
        assert c.seam is not None
        x = c.seam[self._seam_at : self._seam_at + self.block]
        self._seam_at += x.shape[0]
        if self._seam_at >= c.seam.shape[0]:
            self._turn()
        return x

    def _turn(self) -> None:
        """Back to the top of the body for the next turn (or the end, played once)."""
        if self.once:
            self.finished = True
            return
        self._cursor = self.cycle.body_start
        self._seam_at = 0
        if self._file is not None:
            self._file.seek(self._cursor)

    def _push(self, x: np.ndarray) -> None:
        if self._resampler is not None:
            x = self._resampler.resample_chunk(x, last=self.finished)
        if x.shape[0] == 0:
            return
        out = _stereo(np.ascontiguousarray(x, dtype=np.float32))
        with self._lock:
            self._ready.append(out)
            self._ready_frames += out.shape[0]

    def release(self) -> None:
        """Close the file (feeder thread, once the source is closed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._resampler = None
        with self._lock:
            self._ready.clear()
            self._ready_frames = self._head = 0

    # -- audio thread --------------------------------------------------------------------------

    def take(self, count: int) -> np.ndarray:
        out = np.zeros((count, CHANNELS), dtype=np.float32)
        filled = 0
        with self._lock:
            while filled < count and self._ready:
                block = self._ready[0]
                part = block[self._head : self._head + count - filled]
                out[filled : filled + part.shape[0]] = part
                filled += part.shape[0]
                self._head += part.shape[0]
                if self._head >= block.shape[0]:
                    self._ready.popleft()
                    self._ready_frames -= block.shape[0]
                    self._head = 0
            left = self._ready_frames - self._head
        if filled < count and not self.closed:
            self.underruns += count - filled
        if left < self.low_water:
            self.wake()
        return out

    def close(self) -> None:
        """Stop: the feeder releases the file on its next round."""
        self.closed = True
        self.wake()
