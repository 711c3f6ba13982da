"""Long soundscapes (up to 10 minutes): segments of one request, joined, streamed into an MP3.

A render of ``length_s`` is cut into ``n`` equal segments of at most 30 s (the model's limit),
each the same request with its own seed (``seed + i``), overlapping by ``crossfade_s`` (planned
by :mod:`generation.recipes.long_plan`) and joined with the shared equal-power crossfade
(:mod:`generation.audio.crossfade`). With ``loop`` the end of the last segment is crossfaded
into the start of the first, exactly as :mod:`generation.audio.looping` closes a single clip,
so the whole file repeats seamlessly.

Bounded memory: segments are rendered one at a time through a callable (the bot's GPU
executor or :func:`engine_renderer`), normalised, joined and encoded at once; only the current
segment and one crossfade of audio before it are ever held, and the MP3 grows in a temporary
file until it is copied out behind its ID3 tag.

Loudness, decided for bounded memory: each segment is normalised to the target on its own
(the same finishing step as a single clip: integrated loudness, then the true-peak ceiling).
Equal-power joints keep the power of uncorrelated segments, so the whole file lands on the
target too (within a fraction of a LU), and each gain change is spread over its crossfade. A
two-pass alternative (measure everything, then encode) would need the segments kept on disk;
evening out segment levels is what an ambient bed wants anyway. Where a crossfade of two
peaky segments would pass the true-peak ceiling, a smooth dip inside that crossfade holds it.

The MP3 bitrate is the finish settings' bitrate or less: the highest CBR rate whose file fits
under ``max_bytes`` (Discord's 10 MiB upload cap by default), from :func:`generation.audio.mp3.fit_bitrate`.

Stereo models (``channels=2``, segments shaped ``(samples, 2)``) render the same way: every
gain, fade, crossfade and peak dip applies to both channels alike, and the MP3 is stereo. At
44.1 kHz a 10-minute render fits 10 MiB at 128 kbps (the cap is a bitrate, whatever the rate).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from generation.audio.channels import channel_count
from generation.audio.crossfade import crossfade

# Shared with single clips, so a long render is faded and normalised exactly like one.
from generation.audio.finishing import (
    DEFAULT_SETTINGS,
    SILENCE_PEAK,
    FinishSettings,
    _apply_fades,
    _normalised,
    audible_band,
)
from generation.audio.loudness import db_to_gain, true_peak
from generation.audio.mp3 import check_channels, check_sample_rate, clamp_bitrate, fit_bitrate
from generation.audio.mp3_stream import Mp3StreamEncoder, copy_tagged
from generation.audio.spectrogram import SpectrogramBuilder
from generation.audio.tags import Mp3Tags
from generation.errors import GenerationError
from generation.request import GenerationRequest

if TYPE_CHECKING:
    from generation.backends.base import Backend
    from generation.recipes.long_plan import LongRenderPlan

#: Discord's upload limit for a bot without boosts.
DISCORD_UPLOAD_LIMIT = 10 * 1024 * 1024

#: Iterations of the crossfade peak dip; each one deepens it by the remaining overshoot.
_DIP_ITERATIONS = 8

ProgressCallback = Callable[[int, int], None]
"""The engine's per-step callback: (steps done, total steps)."""


@dataclass(frozen=True)
class RenderProgress:
    """Where a long render stands: step ``step`` of ``steps`` in segment ``segment`` of ``segments``."""

    segment: int
    """1-based."""
    segments: int
    step: int
    steps: int

    @property
    def label(self) -> str:
        """ "segment 3 of 12" """
        return f"segment {self.segment} of {self.segments}"

    @property
    def fraction(self) -> float:
        """Overall progress, 0.0 to 1.0."""
        return ((self.segment - 1) * self.steps + self.step) / (self.segments * self.steps)


SegmentRenderer = Callable[[GenerationRequest, ProgressCallback | None], np.ndarray]
"""Renders one segment request into a waveform (mono, or ``(samples, 2)``), reporting steps."""

LongProgressCallback = Callable[[RenderProgress], None]


def engine_renderer(engine: Backend) -> SegmentRenderer:
    """A :data:`SegmentRenderer` that calls ``engine`` directly (for the CLI and tests)."""

    def render(request: GenerationRequest, progress: ProgressCallback | None) -> np.ndarray:
        (waveform,) = engine.generate([request], progress=progress)
        return waveform

    return render


@dataclass(frozen=True, eq=False)
class LongRenderResult:
    """What a long render wrote."""

    duration_s: float
    """Length of the encoded audio (exactly the plan's length, to the sample)."""
    samples: int
    sample_rate: int
    bitrate_kbps: int
    size_bytes: int
    """Bytes written to the output, ID3 tag included."""
    seeds: tuple[int, ...]
    loop: bool
    silent_segments: int
    """Segments that came back silent (kept silent rather than boosted)."""
    spectrogram_png: bytes | None


class LongRenderWriter:
    """Joins and encodes the segments of a plan as they arrive (push interface).

    Feed each segment's raw waveform, in order, to :meth:`add`, then call :meth:`close` to
    write the tagged MP3 to ``output``. Use as a context manager so an abandoned render cleans
    up its temporary file. Not thread-safe; the bot may drive it from any one thread.
    ``channels`` is the layout every segment comes in (1: ``(n,)``, 2: ``(n, 2)``).
    """

    def __init__(
        self,
        plan: LongRenderPlan,
        sample_rate: int,
        output: BinaryIO,
        *,
        settings: FinishSettings = DEFAULT_SETTINGS,
        tags: Mp3Tags | None = None,
        max_bytes: int = DISCORD_UPLOAD_LIMIT,
        spectrogram: bool = True,
        channels: int = 1,
    ) -> None:
        check_sample_rate(sample_rate)
        check_channels(channels)
        self.plan = plan
        self.sample_rate = sample_rate
        self.channels = channels
        self.settings = settings
        self.total = round(plan.length_s * sample_rate)
        self.overlap = round(plan.crossfade_s * sample_rate)
        self._timeline_end = self.total + (self.overlap if plan.loop else 0)
        self.bitrate_kbps = min(
            clamp_bitrate(settings.mp3_bitrate_kbps, sample_rate, channels),
            fit_bitrate(self.total / sample_rate, max_bytes, sample_rate, channels=channels),
        )
        self._output = output
        self._tags = tags
        self._ceiling = db_to_gain(settings.true_peak_dbfs)
        self._temp = tempfile.TemporaryFile()
        try:
            self._encoder = Mp3StreamEncoder(self._temp, sample_rate, self.bitrate_kbps, channels)
        except BaseException:
            self._temp.close()
            raise
        self._spectrogram = SpectrogramBuilder(sample_rate, self.total) if spectrogram else None
        self._tail: np.ndarray | None = None  # last `overlap` samples of the previous segment
        self._head: np.ndarray | None = None  # looping: the first `overlap` samples, closed at the end
        self._position = 0  # timeline sample where the next segment starts
        self._silent = 0
        self.added = 0
        """Segments added so far."""

    def add(self, audio: np.ndarray) -> None:
        """Normalise, join and encode the next segment's raw waveform."""
        index = self.added
        if index >= self.plan.count:
            raise GenerationError(f"the plan has only {self.plan.count} segments")
        first, last = index == 0, index == self.plan.count - 1
        x = self._normalised(audio)
        overlap = self.overlap
        if last:
            keep = self._timeline_end - self._position
            if x.shape[0] < keep:
                short = (keep - x.shape[0]) / self.sample_rate
                raise GenerationError(f"segment {index + 1} came back {short:.3f} s shorter than planned")
            x = x[:keep]
        if x.shape[0] < 2 * overlap:  # room for a crossfade at each end
            raise GenerationError(f"segment {index + 1} is too short for its crossfades")
        if self._tail is not None:
            x[:overlap] = self._held_under_ceiling(crossfade(self._tail, x[:overlap]))
        if last:
            body, self._tail = x, None
        else:
            body, self._tail = x[:-overlap], x[-overlap:].copy()
        self._position += body.shape[0]

        if not self.plan.loop:
            _apply_fades(
                body,
                self.sample_rate,
                self.settings.fade_in_s if first else 0.0,
                self.settings.fade_out_s if last else 0.0,
            )
        else:
            if first:
                self._head, body = body[:overlap].copy(), body[overlap:]
            if last and self._head is not None:
                body[-overlap:] = self._held_under_ceiling(crossfade(body[-overlap:], self._head))
        self._emit(body)
        self.added += 1

    def _normalised(self, audio: np.ndarray) -> np.ndarray:
        x = np.asarray(audio)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x.reshape(-1)
        layout = "mono (n,)" if self.channels == 1 else "stereo (n, 2)"
        if (
            x.ndim not in (1, 2)
            or channel_count(x) != self.channels
            or not np.issubdtype(x.dtype, np.floating)
        ):
            raise GenerationError(f"a segment must be {layout} float audio, got {x.dtype} {x.shape}")
        x = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        x -= x.mean(axis=0)
        x = audible_band(x, self.sample_rate)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak <= SILENCE_PEAK:
            self._silent += 1
            return np.zeros_like(x)
        return _normalised(x / peak, self.sample_rate, self.settings)

    def _held_under_ceiling(self, blend: np.ndarray) -> np.ndarray:
        """``blend`` (a crossfade) with a smooth dip where its true peak passes the ceiling."""
        peak = true_peak(blend)
        if peak <= self._ceiling:
            return blend
        # Zero at the crossfade's edges, where each side alone is already under the ceiling.
        shape = np.hanning(blend.shape[0] + 2)[1:-1]
        if blend.ndim == 2:
            shape = shape[:, None]
        depth = 1.0 - self._ceiling / peak
        dipped = blend
        for _ in range(_DIP_ITERATIONS):
            dipped = blend * (1.0 - depth * shape)
            peak = true_peak(dipped)
            if peak <= self._ceiling:
                break
            depth = 1.0 - (1.0 - depth) * self._ceiling / peak
        return dipped

    def _emit(self, block: np.ndarray) -> None:
        samples = block.astype(np.float32)
        self._encoder.write(samples)
        if self._spectrogram is not None:
            self._spectrogram.add(samples)

    def close(self) -> LongRenderResult:
        """Finish the MP3, copy it (tagged) to the output and describe it."""
        if self.added != self.plan.count:
            raise GenerationError(f"the render stopped after {self.added} of {self.plan.count} segments")
        self._encoder.close()
        size = copy_tagged(self._temp, self._output, self._tags)
        self._temp.close()
        frames = self._encoder.frames
        return LongRenderResult(
            duration_s=frames / self.sample_rate,
            samples=frames,
            sample_rate=self.sample_rate,
            bitrate_kbps=self.bitrate_kbps,
            size_bytes=size,
            seeds=tuple(r.seed for r in self.plan.segments),
            loop=self.plan.loop,
            silent_segments=self._silent,
            spectrogram_png=self._spectrogram.png() if self._spectrogram is not None else None,
        )

    def __enter__(self) -> LongRenderWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._encoder.close()
        self._temp.close()


def render_long(
    plan: LongRenderPlan,
    render: SegmentRenderer,
    output: BinaryIO,
    *,
    sample_rate: int,
    settings: FinishSettings = DEFAULT_SETTINGS,
    tags: Mp3Tags | None = None,
    progress: LongProgressCallback | None = None,
    max_bytes: int = DISCORD_UPLOAD_LIMIT,
    spectrogram: bool = True,
    channels: int = 1,
) -> LongRenderResult:
    """Render every segment of ``plan`` through ``render`` and write the joined MP3 to ``output``.

    ``channels`` is the renderer's layout (``engine.channels``). ``progress`` gets a
    :class:`RenderProgress` after every denoising step; it may raise
    :class:`generation.errors.Cancelled` (through the renderer) to stop. Nothing is written to
    ``output`` unless every segment rendered.
    """
    with LongRenderWriter(
        plan,
        sample_rate,
        output,
        settings=settings,
        tags=tags,
        max_bytes=max_bytes,
        spectrogram=spectrogram,
        channels=channels,
    ) as writer:
        for index, request in enumerate(plan.segments):
            step_progress: ProgressCallback | None = None
            if progress is not None:

                def step_progress(step: int, steps: int, segment: int = index + 1) -> None:
                    progress(RenderProgress(segment, plan.count, step, steps))

            writer.add(render(request, step_progress))
        return writer.close()
