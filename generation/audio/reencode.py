"""Shrinking a finished MP3 to fit an upload limit, keeping its sound settings and tags."""

from __future__ import annotations

import io

from mutagen.id3 import ID3, ID3NoHeaderError

from generation.audio.mp3 import decode_mp3, encode_mp3, fit_bitrate


def fit_mp3(mp3: bytes, max_bytes: int) -> bytes:
    """``mp3`` unchanged if it fits in ``max_bytes``, else re-encoded at the highest bitrate that fits.

    Mono stays mono and stereo stereo. The ID3 tags (prompt, seed, model, …) are carried over.
    Raises ValueError when even the lowest bitrate cannot fit (the clip is too long for the limit).
    """
    if len(mp3) <= max_bytes:
        return mp3
    samples, rate = decode_mp3(mp3)
    tag_bytes = _tag_bytes(mp3)
    bitrate = fit_bitrate(
        len(samples) / rate,
        max_bytes,
        rate,
        reserve_bytes=max(len(tag_bytes), 1024) + 1024,
        channels=1 if samples.ndim == 1 else samples.shape[1],
    )
    smaller = encode_mp3(samples, rate, bitrate)
    return tag_bytes + _strip_tag(smaller) if tag_bytes else smaller


def _tag_bytes(mp3: bytes) -> bytes:
    try:
        tags = ID3(io.BytesIO(mp3))
    except ID3NoHeaderError:
        return b""
    out = io.BytesIO()
    tags.save(out, v2_version=3, padding=lambda _info: 0)
    return out.getvalue()


def _strip_tag(mp3: bytes) -> bytes:
    """The audio frames without a leading ID3v2 tag (the encoder may write an empty one)."""
    if mp3[:3] != b"ID3" or len(mp3) < 10:
        return mp3
    size = 0
    for byte in mp3[6:10]:  # syncsafe integer: 7 bits per byte
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if mp3[5] & 0x10 else 0
    return mp3[10 + size + footer :]
