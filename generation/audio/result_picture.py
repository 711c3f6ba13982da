"""The picture on a result card: each posted file's real length and one spectrogram of them all.

Drawn from the encoded MP3s (what users hear), so a result re-posted after a restart gets the same
picture. CPU work: it decodes every file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from generation.audio.mp3 import decode_mp3
from generation.audio.spectrogram import spectrogram_strip_png

log = logging.getLogger(__name__)

#: The card picture's size in pixels.
WIDTH, HEIGHT = 480, 160


@dataclass(frozen=True)
class ResultPicture:
    durations: list[float]
    """Seconds of each file, in order (a loop is shorter than the clip it was cut from)."""
    png: bytes | None
    """One spectrogram, the files stacked (None if it could not be drawn)."""


def picture_of(mp3s: list[bytes]) -> ResultPicture:
    """Each file's duration and one spectrogram of them all (a stack for variations)."""
    decoded = [decode_mp3(data) for data in mp3s]
    durations = [samples.shape[0] / rate for samples, rate in decoded]
    try:
        clips = [samples for samples, _ in decoded]
        png = spectrogram_strip_png(clips, decoded[0][1], width=WIDTH, height=HEIGHT) if decoded else None
    except Exception:  # a picture is a nicety; the sound is what must get through
        log.exception("spectrogram failed")
        png = None
    return ResultPicture(durations, png)
