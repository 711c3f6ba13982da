"""A small picture of the sound: a log-mel spectrogram as PNG bytes, for a result's embed.

Time runs left to right over the whole clip, low frequencies at the bottom; colours are the
perceptually uniform "magma" map (from ``cmap``, no matplotlib), covering 80 dB below the
loudest band. :class:`SpectrogramBuilder` takes the audio block by block, so a 10-minute render
gets its picture without ever being in memory whole. Deterministic: equal audio, equal bytes.

Stereo ``(n, 2)`` audio is drawn as the mean of its channels' powers (not the power of their
sum, where out-of-phase content would cancel and vanish from the picture).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np

from generation.audio.channels import as_audio
from generation.audio.spectral import fft_size, frame_count, mel_power, to_db

DEFAULT_WIDTH = 600
DEFAULT_HEIGHT = 200
MEL_BANDS = 64
DYNAMIC_RANGE_DB = 80.0
COLORMAP = "magma"
#: Frames never step by less than this many samples, however short the clip (cost bound).
MIN_HOP = 16


@functools.lru_cache(maxsize=4)
def _palette(name: str) -> np.ndarray:
    """256 × 3 uint8 colours of the named colormap, dark to bright."""
    from cmap import Colormap

    lut = Colormap(name).lut(256)[:, :3]
    palette = np.round(lut * 255.0).astype(np.uint8)
    palette.flags.writeable = False
    return palette


class SpectrogramBuilder:
    """Accumulates mel power per image column from audio fed in order, then renders a PNG.

    ``total_samples`` (the length of everything that will be fed) maps time to columns; each
    column averages the power of the frames centred in it.
    """

    def __init__(
        self,
        sample_rate: int,
        total_samples: int,
        *,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"image size must be positive, got {width}×{height}")
        if total_samples < 1:
            raise ValueError("a spectrogram needs at least one sample")
        self.sample_rate = sample_rate
        self.total_samples = total_samples
        self.width = width
        self.height = height
        self.n_fft = fft_size(sample_rate)  # audio shorter than one frame draws as silence
        # About two frames per column for short clips, half-overlapping frames for long ones.
        self.hop = int(min(self.n_fft // 2, max(total_samples // (2 * width), MIN_HOP)))
        self._carry: np.ndarray | None = None
        self._frames = 0
        self._sums = np.zeros((width, MEL_BANDS))
        self._counts = np.zeros(width, dtype=np.int64)

    def add(self, block: np.ndarray) -> None:
        """Feed the next samples (mono ``(n,)`` or stereo ``(n, 2)`` float, the same layout every time)."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x.reshape(-1)
        buffer = x if self._carry is None else np.concatenate((self._carry, x))
        frames = frame_count(buffer.shape[0], self.n_fft, self.hop)
        if frames:
            power = self._power(buffer)
            centres = (self._frames + np.arange(frames)) * self.hop + self.n_fft // 2
            columns = np.minimum(centres * self.width // self.total_samples, self.width - 1)
            # Columns only increase along the frames: sum runs of equal columns at once.
            starts = np.flatnonzero(np.diff(columns, prepend=-1))
            self._sums[columns[starts]] += np.add.reduceat(power, starts, axis=0)
            self._counts += np.bincount(columns, minlength=self.width)
            self._frames += frames
        self._carry = buffer[frames * self.hop :]

    def _power(self, buffer: np.ndarray) -> np.ndarray:
        if buffer.ndim == 1:
            return mel_power(buffer, self.sample_rate, self.n_fft, self.hop, MEL_BANDS)
        channels = buffer.shape[1]
        total = sum(
            mel_power(buffer[:, c], self.sample_rate, self.n_fft, self.hop, MEL_BANDS)
            for c in range(channels)
        )
        return total / channels

    def levels(self) -> np.ndarray:
        """Column-averaged mel power in dB, shape ``(width, MEL_BANDS)``; empty columns interpolated."""
        filled = np.flatnonzero(self._counts)
        if filled.size == 0:
            return np.full((self.width, MEL_BANDS), to_db(np.zeros(1))[0])
        mean = self._sums[filled] / self._counts[filled, None]
        db = to_db(mean)
        if filled.size == self.width:
            return db
        every = np.arange(self.width)
        return np.stack([np.interp(every, filled, db[:, band]) for band in range(MEL_BANDS)], axis=1)

    def png(self) -> bytes:
        """The spectrogram as PNG bytes (8-bit palette, ``width`` × ``height``)."""
        from PIL import Image

        db = self.levels()
        top = float(db.max())
        scaled = np.clip((db - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0.0, 1.0)
        # Rows are mel bands, highest first; stretched to the image height before colouring so
        # the colours stay on the map.
        rows = np.ascontiguousarray(scaled.T[::-1], dtype=np.float32)
        stretched = Image.fromarray(rows, mode="F").resize(
            (self.width, self.height), Image.Resampling.BILINEAR
        )
        indices = np.clip(np.rint(np.asarray(stretched) * 255.0), 0, 255).astype(np.uint8)
        # A palette image: one byte per pixel, a third of the data to compress of an RGB one.
        image = Image.frombytes("P", (self.width, self.height), indices.tobytes())
        image.putpalette(_palette(COLORMAP).tobytes())
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def spectrogram_png(
    audio: np.ndarray, sample_rate: int, *, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT
) -> bytes:
    """PNG bytes of the log-mel spectrogram of ``audio``, mono ``(n,)`` or stereo ``(n, 2)``
    (``width`` × ``height`` pixels)."""
    x = as_audio(audio)
    builder = SpectrogramBuilder(sample_rate, x.shape[0], width=width, height=height)
    builder.add(x)
    return builder.png()


#: Pixels between the pictures of two clips in :func:`spectrogram_strip_png`.
STRIP_GAP = 3


def spectrogram_strip_png(
    clips: Sequence[np.ndarray], sample_rate: int, *, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT
) -> bytes:
    """One picture of several clips (variations, mono or stereo), stacked top to bottom within ``height``."""
    from PIL import Image

    if len(clips) == 1:
        return spectrogram_png(clips[0], sample_rate, width=width, height=height)
    if not clips:
        raise ValueError("no clips to draw")
    row = max(8, (height - STRIP_GAP * (len(clips) - 1)) // len(clips))
    total = row * len(clips) + STRIP_GAP * (len(clips) - 1)
    strip = Image.new("P", (width, total), 0)
    for index, clip in enumerate(clips):
        picture = Image.open(io.BytesIO(spectrogram_png(clip, sample_rate, width=width, height=row)))
        if index == 0:
            strip.putpalette(picture.getpalette() or [])
        strip.paste(picture, (0, index * (row + STRIP_GAP)))
    out = io.BytesIO()
    strip.save(out, format="PNG")
    return out.getvalue()
