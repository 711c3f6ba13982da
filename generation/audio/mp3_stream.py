"""Incremental MP3 encoding: audio goes to LAME block by block, never whole in memory.

libsndfile accepts ``write()`` calls of any size on an MP3 ``SoundFile`` and, at close, seeks
back to fill in LAME's Info frame (encoder delay and padding), so the sink must be seekable
and the result decodes gapless and sample-exact, byte for byte the same as
:func:`generation.audio.mp3.encode_mp3` on the whole signal. The ID3 tag goes in front when the
stream is copied out (:func:`copy_tagged`), because libsndfile addresses the sink from offset 0.
"""

from __future__ import annotations

import shutil
from typing import BinaryIO

import numpy as np
import soundfile as sf

from generation.audio.mp3 import check_bitrate, compression_level, lame_input_scale
from generation.audio.tags import Mp3Tags, write_tags

#: Bytes per copy when moving an encoded stream to its destination.
COPY_CHUNK_BYTES = 1 << 20


class Mp3StreamEncoder:
    """A CBR MP3 encoder (mono, or stereo ``(frames, 2)`` blocks) writing into a seekable binary
    file (use as a context manager)."""

    def __init__(self, sink: BinaryIO, sample_rate: int, bitrate_kbps: int, channels: int = 1) -> None:
        check_bitrate(bitrate_kbps, sample_rate, channels)
        self.sample_rate = sample_rate
        self.channels = channels
        self.bitrate_kbps = bitrate_kbps
        self.frames = 0
        self._scale = np.float32(lame_input_scale(bitrate_kbps))
        self._file = sf.SoundFile(
            sink,
            mode="w",
            samplerate=sample_rate,
            channels=channels,
            format="MP3",
            subtype="MPEG_LAYER_III",
            compression_level=compression_level(bitrate_kbps, sample_rate),
            bitrate_mode="CONSTANT",
        )

    def write(self, block: np.ndarray) -> None:
        """Encode the next samples (the encoder's layout); beyond ±1.0 is clipped, as in
        :func:`encode_mp3`."""
        data = np.asarray(block, dtype=np.float32)
        if data.shape[1:] != (() if self.channels == 1 else (self.channels,)):
            expected = "mono samples shaped (frames,)" if self.channels == 1 else "stereo (frames, 2)"
            raise ValueError(f"expected {expected}, got shape {data.shape}")
        if data.size == 0:
            return
        if not np.all(np.isfinite(data)):
            raise ValueError("samples contain NaN or infinity")
        # Clip, then undo LAME's input attenuation (see generation.audio.mp3).
        self._file.write(np.clip(data, -1.0, 1.0) / self._scale)
        self.frames += data.shape[0]

    def close(self) -> None:
        """Flush LAME and write the Info frame; the sink stays open."""
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Mp3StreamEncoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def copy_tagged(encoded: BinaryIO, output: BinaryIO, tags: Mp3Tags | None) -> int:
    """Write the ID3 tag (if any) and then the encoded stream to ``output``; returns bytes written."""
    header = write_tags(b"", tags) if tags is not None else b""
    output.write(header)
    encoded.seek(0)
    shutil.copyfileobj(encoded, output, COPY_CHUNK_BYTES)
    return len(header) + encoded.tell()
