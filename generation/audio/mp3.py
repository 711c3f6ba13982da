"""In-memory MP3 encoding and decoding through libsndfile (LAME / mpg123), and bitrate choice.

libsndfile maps ``compression_level`` (0.0 best … 1.0 smallest; 1.0 itself is refused) linearly
onto a CBR bitrate and truncates: ``int(max - level * (max - min))`` with [min, max] = [32, 320]
kbps for MPEG-1 (32-48 kHz), [8, 160] for MPEG-2 (16-24 kHz) and [8, 64] for MPEG-2.5 (8-12 kHz);
LAME then snaps to the nearest legal bitrate. Measured (10 s of noise, bytes * 8 / 10 s):

    level     0.0  0.05  0.2  0.3  0.4  0.5  0.6  0.65  0.7  0.75  0.8  0.85  0.9  0.95
    16 kHz    162  146   130  113   97   81   65   65    57   49    41   32    24   16
    44.1 kHz  322  322   258  225  193  161  161  129   113   97    97   81    56   48

We invert the formula with a quarter-kbps bias so the truncation lands exactly on the bitrate
asked for. Measured CBR rates then (the excess is the Info frame and ~0.1 s of codec delay):

    kbps asked   16 kHz  44.1 kHz        kbps asked   16 kHz  44.1 kHz
        40        40.5      -                128       129.5    128.7
        64        64.7     64.4              160       161.9    160.9
        96        97.1     96.5              192         -      193.1
        112      113.3    112.6              320         -      321.8

ABR (``vbr=True``) is content dependent and lands at or a little under the asked rate: on 10 s
of noise, 64 -> 61, 96 -> 91, 128 -> 124 kbps at 44.1 kHz; at 16 kHz LAME's ABR tops out near
107 kbps whatever is asked above that.

Decoding is gapless: LAME's Info frame records the encoder delay and padding and mpg123 trims
them, so a decoded file has exactly as many frames as were encoded, sample-aligned. A CBR frame
too small to hold the Info frame (e.g. 32 kbps at 16 kHz, under 56 kbps at 44.1 kHz) makes LAME
drop it silently, and the file then decodes 1105+ samples longer and shifted; such bitrates are
not offered. Stereo side information is larger (32 bytes instead of 17 for MPEG-1, 17 instead of
9 for MPEG-2), so stereo needs a bigger frame: measured, 44.1 kHz stereo is gapless from 64 kbps
(56 kbps drifts by 1368 samples), 16 kHz stereo from 40 kbps — exactly where the frame holds the
header, the side information and the Info payload.

Stereo is ``(frames, 2)`` float PCM (see :mod:`generation.audio.channels`); LAME's joint stereo
keeps each channel's level and timing (checked to 1e-4 on two sines).

LAME also scales its input by a bitrate-dependent factor (0.95 up to 160 kbps, 0.97 at 192,
0.98 at 224, 1.0 above) to keep clipping headroom; :func:`encode_mp3` undoes it so the decoded
level matches the input (finishing already leaves true-peak headroom).
"""

from __future__ import annotations

import io
import math

import numpy as np
import soundfile as sf

#: Sample rates an MP3 stream can carry (libsndfile writes at the input rate, no resampling).
SAMPLE_RATES: tuple[int, ...] = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

#: Layer III bitrates per MPEG version (from 32 kbps: lower is too lossy to be useful here).
MPEG1_BITRATES: tuple[int, ...] = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MPEG2_BITRATES: tuple[int, ...] = (32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
MPEG25_BITRATES: tuple[int, ...] = (32, 40, 48, 56, 64)

#: Every bitrate valid at some sample rate; which ones apply depends on the rate.
SUPPORTED_BITRATES: tuple[int, ...] = tuple(sorted(set(MPEG1_BITRATES) | set(MPEG2_BITRATES)))

#: LAME's Info frame payload after the side info (LAMEHEADERSIZE in its VbrTag.c); a CBR frame
#: smaller than header + side info + this gets no Info frame and loses gapless decoding.
_INFO_FRAME_BYTES = 156

#: Room left for the ID3v2 tag when fitting a file under a size cap (a 300-character prompt
#: stored twice as UTF-16 plus the other frames stays well under this).
TAG_RESERVE_BYTES = 4096


def check_sample_rate(sample_rate: int) -> None:
    """Raise ValueError unless MP3 can carry ``sample_rate``."""
    if sample_rate not in SAMPLE_RATES:
        allowed = ", ".join(str(r) for r in SAMPLE_RATES)
        raise ValueError(f"MP3 cannot store {sample_rate} Hz audio; use one of {allowed} Hz")


def _is_mpeg1(sample_rate: int) -> bool:
    return sample_rate >= 32000


def _frame_bytes(sample_rate: int, bitrate_kbps: int) -> int:
    """Size of one Layer III frame without its optional padding byte."""
    slot_factor = 144 if _is_mpeg1(sample_rate) else 72
    return slot_factor * bitrate_kbps * 1000 // sample_rate


def _holds_info_frame(sample_rate: int, bitrate_kbps: int, channels: int = 1) -> bool:
    # 4-byte header + side information, which is larger for stereo.
    if _is_mpeg1(sample_rate):
        side_info = 21 if channels == 1 else 36
    else:
        side_info = 13 if channels == 1 else 21
    return _frame_bytes(sample_rate, bitrate_kbps) >= side_info + _INFO_FRAME_BYTES


def check_channels(channels: int) -> None:
    """Raise ValueError unless MP3 can carry ``channels`` channels (1 or 2)."""
    if isinstance(channels, bool) or channels not in (1, 2):
        raise ValueError(f"MP3 carries mono or stereo audio; got {channels!r} channels")


def supported_bitrates(sample_rate: int, channels: int = 1) -> tuple[int, ...]:
    """The bitrates (kbps, ascending) :func:`encode_mp3` accepts at ``sample_rate``.

    Mono: 16 kHz (MPEG-2) 40-160; 44.1 kHz 56-320; 48 kHz 64-320. Stereo: 16 kHz 40-160;
    44.1 kHz and 48 kHz 64-320.
    """
    check_sample_rate(sample_rate)
    check_channels(channels)
    if _is_mpeg1(sample_rate):
        rates = MPEG1_BITRATES
    elif sample_rate >= 16000:
        rates = MPEG2_BITRATES
    else:
        rates = MPEG25_BITRATES
    return tuple(r for r in rates if _holds_info_frame(sample_rate, r, channels))


def clamp_bitrate(bitrate_kbps: int, sample_rate: int, channels: int = 1) -> int:
    """The highest supported bitrate at ``sample_rate`` not above ``bitrate_kbps`` (else the lowest)."""
    rates = supported_bitrates(sample_rate, channels)
    fitting = [r for r in rates if r <= bitrate_kbps]
    return fitting[-1] if fitting else rates[0]


def compression_level(bitrate_kbps: int, sample_rate: int) -> float:
    """libsndfile ``compression_level`` that makes LAME encode at exactly ``bitrate_kbps``."""
    check_sample_rate(sample_rate)
    if _is_mpeg1(sample_rate):
        low, high = 32, 320
    elif sample_rate >= 16000:
        low, high = 8, 160
    else:
        low, high = 8, 64
    # libsndfile truncates high - level * (high - low); aiming a quarter kbps above the target
    # keeps float rounding from truncating to the bitrate below.
    level = (high - bitrate_kbps - 0.25) / (high - low)
    return min(max(level, 0.0), 1.0)


def lame_input_scale(bitrate_kbps: int) -> float:
    """The factor LAME's bitrate preset multiplies the input by (see module docstring)."""
    if bitrate_kbps <= 160:
        return 0.95
    if bitrate_kbps <= 192:
        return 0.97
    if bitrate_kbps <= 224:
        return 0.98
    return 1.0


def _channels_of(data: np.ndarray) -> int:
    if data.ndim == 1:
        return 1
    if data.ndim == 2 and data.shape[1] == 2:
        return 2
    raise ValueError(f"expected mono (frames,) or stereo (frames, 2) samples, got shape {data.shape}")


def check_bitrate(bitrate_kbps: int, sample_rate: int, channels: int = 1) -> None:
    """Raise ValueError unless ``bitrate_kbps`` is offered at this rate and channel count."""
    rates = supported_bitrates(sample_rate, channels)
    if bitrate_kbps not in rates:
        allowed = ", ".join(str(r) for r in rates)
        layout = "mono" if channels == 1 else "stereo"
        raise ValueError(
            f"{bitrate_kbps} kbps is not an MP3 bitrate at {sample_rate} Hz ({layout}); "
            f"use one of {allowed} kbps"
        )


def encode_mp3(samples: np.ndarray, sample_rate: int, bitrate_kbps: int, vbr: bool = False) -> bytes:
    """Encode float PCM, mono ``(frames,)`` or stereo ``(frames, 2)``, to MP3 bytes, in memory.

    ``vbr`` selects LAME's average-bitrate mode: frames vary in size, averaging about
    ``bitrate_kbps``. Samples beyond ±1.0 are clipped. Raises ValueError for an unsupported
    rate, layout or bitrate, empty or non-finite input.
    """
    data = np.asarray(samples, dtype=np.float32)
    check_bitrate(bitrate_kbps, sample_rate, _channels_of(data))
    if data.shape[0] == 0:
        raise ValueError("cannot encode an empty signal")
    if not np.all(np.isfinite(data)):
        raise ValueError("samples contain NaN or infinity")
    # Clip first, then undo LAME's attenuation: the decoder gives back the clipped input.
    data = np.clip(data, -1.0, 1.0) / np.float32(lame_input_scale(bitrate_kbps))
    buffer = io.BytesIO()
    sf.write(
        buffer,
        data,
        sample_rate,
        format="MP3",
        subtype="MPEG_LAYER_III",
        compression_level=compression_level(bitrate_kbps, sample_rate),
        bitrate_mode="AVERAGE" if vbr else "CONSTANT",
    )
    return buffer.getvalue()


def decode_mp3(data: bytes) -> tuple[np.ndarray, int]:
    """Decode MP3 bytes to float32 PCM (``(frames,)`` for mono, ``(frames, 2)`` for stereo) and its rate."""
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            if f.format != "MP3":
                raise ValueError(f"expected MP3 data, got {f.format}")
            return f.read(dtype="float32"), f.samplerate
    except sf.LibsndfileError as exc:
        raise ValueError(f"not a decodable MP3: {exc}") from exc


def mp3_frames(data: bytes) -> int:
    """Number of PCM frames the MP3 decodes to (from the stream, without decoding into memory)."""
    try:
        return sf.info(io.BytesIO(data)).frames
    except sf.LibsndfileError as exc:
        raise ValueError(f"not a decodable MP3: {exc}") from exc


def mp3_duration(data: bytes) -> float:
    """Seconds the MP3 plays (from the stream, without decoding into memory)."""
    try:
        info = sf.info(io.BytesIO(data))
    except sf.LibsndfileError as exc:
        raise ValueError(f"not a decodable MP3: {exc}") from exc
    return info.frames / info.samplerate


def cbr_size_bound(num_frames: int, sample_rate: int, bitrate_kbps: int) -> int:
    """Upper bound on the bytes of a CBR MP3 of ``num_frames`` samples (tags not included)."""
    samples_per_frame = 1152 if _is_mpeg1(sample_rate) else 576
    # Every frame is floor(factor * bitrate / rate) bytes plus an optional padding byte.
    frame_bytes = _frame_bytes(sample_rate, bitrate_kbps) + 1
    # LAME adds 576 samples of delay and up to a frame of padding, plus one Info frame; the
    # measured frame counts never exceed this.
    frames = math.ceil((num_frames + 576 + 1152) / samples_per_frame) + 1
    return frames * frame_bytes


def fit_bitrate(
    duration_s: float,
    max_bytes: int,
    sample_rate: int,
    *,
    reserve_bytes: int = TAG_RESERVE_BYTES,
    channels: int = 1,
) -> int:
    """Highest supported CBR bitrate whose file of ``duration_s`` fits in ``max_bytes``.

    ``reserve_bytes`` is kept free for the ID3 tag. Raises ValueError when even the lowest
    bitrate does not fit. ABR files are content dependent and not covered by the bound.
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration must be a positive number of seconds, got {duration_s}")
    num_frames = math.ceil(duration_s * sample_rate)
    rates = supported_bitrates(sample_rate, channels)
    for rate in reversed(rates):
        if cbr_size_bound(num_frames, sample_rate, rate) + reserve_bytes <= max_bytes:
            return rate
    raise ValueError(f"{duration_s:g} s of MP3 does not fit in {max_bytes} bytes even at {rates[0]} kbps")
