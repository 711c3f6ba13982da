"""Audio finishing: turn a raw model waveform into a loudness-normalised, tagged MP3.

Chain: NaN/inf → 0, DC removal (per channel), band limit to the audible 20 kHz (44.1/48 kHz
audio only), raised-cosine fades, integrated-loudness normalisation (BS.1770 via pyloudnorm,
channels summed), true-peak ceiling by plain gain reduction, MP3 encode, ID3 tags. Mono
``(n,)`` and stereo ``(n, 2)`` alike (one gain for both channels, so the stereo image is kept).
Pure numpy/scipy; safe to import without torch.

Why the band limit: every MP3 encoder drops what lies above about 20 kHz, and K-weighting counts
it. A model whose output carries hiss up there (the random tiny Stable Audio builds put a tenth
of their power above 20 kHz) would be normalised on sound nobody gets, and its file would
measure half a LU quiet. Filtering first makes the target hold for the file people hear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generation.audio.channels import as_audio, channel_count, per_sample
from generation.audio.loudness import (
    db_to_gain,
    integrated_loudness,
    true_peak,
    true_peak_dbfs,
)
from generation.audio.mp3 import SUPPORTED_BITRATES, check_sample_rate, clamp_bitrate, encode_mp3, mp3_frames
from generation.audio.tags import Mp3Tags, write_tags

__all__ = ["DEFAULT_SETTINGS", "FinishSettings", "FinishedAudio", "Mp3Tags", "finish"]

#: Bounds FinishSettings enforces.
MIN_TARGET_LUFS = -40.0
MAX_TARGET_LUFS = -5.0
MIN_TRUE_PEAK_DBFS = -20.0
MAX_TRUE_PEAK_DBFS = 0.0
MAX_FADE_S = 10.0

#: Peaks at or below this (-120 dBFS, under 24-bit resolution) count as silence: boosting
#: such residue to the loudness target would only amplify numerical noise.
SILENCE_PEAK = 1e-6


def _check_number(name: str, value: float, low: float, high: float, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} {unit}, got {value:g}")


@dataclass(frozen=True)
class FinishSettings:
    """How a clip is finished. Validated on construction (ValueError says what is allowed)."""

    target_lufs: float = -18.0
    """Integrated loudness target (ITU-R BS.1770, LUFS)."""
    true_peak_dbfs: float = -1.0
    """True-peak ceiling (dBTP, 4x oversampled). Wins over the loudness target: very peaky
    audio ends quieter than ``target_lufs`` rather than over the ceiling."""
    fade_in_s: float = 0.05
    fade_out_s: float = 0.25
    mp3_bitrate_kbps: int = 128
    """Nominal MP3 bitrate, fitted to the sample rate: the highest supported one not above it,
    else the lowest (16 kHz audio is MPEG-2: 40-160 kbps)."""
    mp3_vbr: bool = False
    """Variable-size frames averaging about ``mp3_bitrate_kbps`` (LAME ABR) instead of CBR."""

    def __post_init__(self) -> None:
        _check_number("target_lufs", self.target_lufs, MIN_TARGET_LUFS, MAX_TARGET_LUFS, "LUFS")
        _check_number("true_peak_dbfs", self.true_peak_dbfs, MIN_TRUE_PEAK_DBFS, MAX_TRUE_PEAK_DBFS, "dBTP")
        _check_number("fade_in_s", self.fade_in_s, 0.0, MAX_FADE_S, "s")
        _check_number("fade_out_s", self.fade_out_s, 0.0, MAX_FADE_S, "s")
        bitrate = self.mp3_bitrate_kbps
        if isinstance(bitrate, bool) or not isinstance(bitrate, int) or bitrate not in SUPPORTED_BITRATES:
            allowed = ", ".join(str(r) for r in SUPPORTED_BITRATES)
            raise ValueError(f"mp3_bitrate_kbps must be one of {allowed}, got {self.mp3_bitrate_kbps!r}")
        if not isinstance(self.mp3_vbr, bool):
            raise ValueError(f"mp3_vbr must be True or False, got {self.mp3_vbr!r}")


DEFAULT_SETTINGS = FinishSettings()


@dataclass(frozen=True, eq=False)
class FinishedAudio:
    """A finished clip: the MP3 to upload plus the PCM and measurements behind it."""

    mp3: bytes
    duration_s: float
    """Length of the produced MP3 as its decoder reports it (gapless: equals the input)."""
    sample_rate: int
    lufs: float
    """Integrated loudness of ``samples``; ``-inf`` for silence, ``nan`` under 400 ms."""
    true_peak_dbfs: float
    """True peak of ``samples`` (dBTP); ``-inf`` for silence."""
    samples: np.ndarray
    """The finished float32 PCM that was encoded (read-only): ``(n,)`` or ``(n, 2)``."""
    bitrate_kbps: int
    """The bitrate actually used, after fitting the requested one to the sample rate and channels."""

    @property
    def channels(self) -> int:
        return channel_count(self.samples)


def _fade_ramp(length: int) -> np.ndarray:
    """Raised-cosine ramp from exactly 0 towards 1: zero slope at both ends, so no click."""
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(length) / length)


def _apply_fades(x: np.ndarray, sample_rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    """Fade in and out in place (every channel alike); each fade is capped at a quarter of the clip."""
    limit = x.shape[0] // 4
    fade_in = min(round(fade_in_s * sample_rate), limit)
    fade_out = min(round(fade_out_s * sample_rate), limit)
    if fade_in:
        x[:fade_in] *= per_sample(_fade_ramp(fade_in), x)
    if fade_out:
        x[-fade_out:] *= per_sample(_fade_ramp(fade_out)[::-1], x)
    return x


#: The top of the audible band: content above it is removed before loudness is measured.
AUDIBLE_HZ = 20_000.0
#: Width of the cosine taper that ends at :data:`AUDIBLE_HZ` (no ringing from a brick wall).
AUDIBLE_TAPER_HZ = 1_000.0


def audible_band(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """``x`` (float64, either layout) without content above :data:`AUDIBLE_HZ`; unchanged when its
    Nyquist frequency is below that (16 kHz audio).

    Zero-phase and circular (in the frequency domain), so a loop's seam stays as continuous as it
    was: the wrap-around is treated like any other sample pair.
    """
    if sample_rate / 2 <= AUDIBLE_HZ:
        return x
    spectrum = np.fft.rfft(x, axis=0)
    frequencies = np.fft.rfftfreq(x.shape[0], 1.0 / sample_rate)
    fall = np.clip((frequencies - (AUDIBLE_HZ - AUDIBLE_TAPER_HZ)) / AUDIBLE_TAPER_HZ, 0.0, 1.0)
    gain = 0.5 + 0.5 * np.cos(np.pi * fall)
    spectrum *= gain if x.ndim == 1 else gain[:, None]
    return np.fft.irfft(spectrum, n=x.shape[0], axis=0)


def _normalised(x: np.ndarray, sample_rate: int, settings: FinishSettings) -> np.ndarray:
    """``x`` (unit sample peak) scaled to the loudness target, then under the true-peak ceiling."""
    ceiling = db_to_gain(settings.true_peak_dbfs)
    peak = true_peak(x)
    loudness = integrated_loudness(x, sample_rate)  # nan when shorter than a gating block
    if math.isfinite(loudness):
        gain = db_to_gain(settings.target_lufs - loudness)
    else:
        # Too short for BS.1770 gating (or fully gated): peak normalisation to the ceiling.
        gain = ceiling / peak
    # Plain gain reduction rather than a limiter: keeps the sound intact, at the cost of
    # ending below the loudness target when the crest factor is very high.
    gain = min(gain, ceiling / peak)
    return x * gain


def finish(
    audio: np.ndarray,
    sample_rate: int,
    settings: FinishSettings = DEFAULT_SETTINGS,
    tags: Mp3Tags | None = None,
) -> FinishedAudio:
    """Finish a model waveform, mono ``(n,)`` or stereo ``(n, 2)`` (any float dtype and scale),
    into a tagged MP3 of the same layout.

    Silence (or audio that is nothing but DC) stays silent and still yields a valid MP3.
    Raises ValueError for non-float, empty or otherwise shaped audio and unsupported sample rates.
    """
    check_sample_rate(sample_rate)
    x = as_audio(audio)

    # Work at unit peak: the input scale is arbitrary, loudness normalisation makes it
    # irrelevant, and it keeps sums from overflowing and quiet audio above the -70 LUFS gate.
    silent = True
    peak = float(np.max(np.abs(x)))
    if peak > SILENCE_PEAK:
        x /= peak
        x -= x.mean(axis=0)
        x = audible_band(x, sample_rate)
        _apply_fades(x, sample_rate, settings.fade_in_s, settings.fade_out_s)
        peak = float(np.max(np.abs(x)))
        silent = peak <= SILENCE_PEAK
    if silent:
        x = np.zeros_like(x)
    else:
        x = _normalised(x / peak, sample_rate, settings)

    samples = x.astype(np.float32)
    samples.flags.writeable = False
    bitrate = clamp_bitrate(settings.mp3_bitrate_kbps, sample_rate, channel_count(samples))
    mp3 = encode_mp3(samples, sample_rate, bitrate, vbr=settings.mp3_vbr)
    if tags is not None:
        mp3 = write_tags(mp3, tags)
    return FinishedAudio(
        mp3=mp3,
        duration_s=mp3_frames(mp3) / sample_rate,
        sample_rate=sample_rate,
        lufs=-math.inf if silent else integrated_loudness(samples, sample_rate),
        true_peak_dbfs=true_peak_dbfs(samples),
        samples=samples,
        bitrate_kbps=bitrate,
    )
