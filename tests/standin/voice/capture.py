"""What the bot sent in voice, decoded: 20 ms frames of 48 kHz stereo PCM with their arrival times."""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    # discord.player imports audioop (deprecated on Python 3.11+); nothing we can change here.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord.opus

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960


def ensure_opus() -> None:
    """Load libopus for decoding: the pip-installed one (opuslib-next-bundled), else the system's."""
    if discord.opus.is_loaded():
        return
    spec = importlib.util.find_spec("opuslib_next")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "_native" / "libopus.so"
        if bundled.is_file():
            discord.opus.load_opus(str(bundled))
            return
    if not discord.opus._load_default():
        raise RuntimeError("the voice stand-in needs libopus to decode what the bot sends")


@dataclass(frozen=True)
class ReceivedFrame:
    arrival: float
    """Wall-clock time (``time.time()``) the datagram arrived (the kernel's stamp on Linux)."""
    sequence: int
    timestamp: int
    ssrc: int
    pcm: np.ndarray
    """(960, 2) int16."""


class VoiceCapture:
    """Every audio packet one guild's voice connection delivered, in arrival order."""

    def __init__(self) -> None:
        self.frames: list[ReceivedFrame] = []
        self._decoders: dict[int, discord.opus.Decoder] = {}

    def add(self, *, arrival: float, sequence: int, timestamp: int, ssrc: int, opus: bytes) -> None:
        decoder = self._decoders.get(ssrc)
        if decoder is None:
            ensure_opus()
            decoder = self._decoders[ssrc] = discord.opus.Decoder()
        pcm = np.frombuffer(decoder.decode(opus), dtype="<i2").reshape(-1, 2)
        self.frames.append(ReceivedFrame(arrival, sequence, timestamp, ssrc, pcm))

    def __len__(self) -> int:
        return len(self.frames)

    def audio(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """Frames ``[start, end)`` joined: ``(samples, 2)`` float32 in -1..1."""
        frames = self.frames[start:end]
        if not frames:
            return np.zeros((0, 2), dtype=np.float32)
        return np.concatenate([f.pcm for f in frames]).astype(np.float32) / 32768.0

    def intervals_ms(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """Milliseconds between consecutive arrivals among frames ``[start, end)``."""
        arrivals = np.array([f.arrival for f in self.frames[start:end]])
        return np.diff(arrivals) * 1000.0

    def frame_levels(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """RMS of each frame (both channels), float."""
        return np.array(
            [
                float(np.sqrt(np.mean((f.pcm.astype(np.float64) / 32768.0) ** 2)))
                for f in self.frames[start:end]
            ]
        )
