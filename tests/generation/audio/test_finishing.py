"""Audio finishing: loudness, true peak, fades, MP3 encoding, bitrate choice and ID3 tags."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from generation.audio.finishing import FinishedAudio, FinishSettings, finish
from generation.audio.loudness import integrated_loudness, true_peak_dbfs
from generation.audio.mp3 import (
    TAG_RESERVE_BYTES,
    cbr_size_bound,
    compression_level,
    decode_mp3,
    encode_mp3,
    fit_bitrate,
    mp3_frames,
    supported_bitrates,
)
from generation.audio.tags import Mp3Tags, read_tags, write_tags
from generation.request import GenerationRequest

SR = 16000
PROMPT = "🌧️ rain on a tin roof — مطر على سطح · גשם"


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def noise_bursts(seconds: float = 4.0) -> np.ndarray:
    """White noise gated on and off every 0.5 s (exercises the relative gate)."""
    n = int(seconds * SR)
    gate = (np.arange(n) // (SR // 2)) % 2 == 0
    return _rng(1).standard_normal(n) * 0.3 * gate


def sine(seconds: float = 3.0, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(seconds * SR)) / SR)


def pinkish(seconds: float = 4.0) -> np.ndarray:
    """Noise with a ~-3 dB/octave slope (Kellet's filter), like wind or rain beds."""
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return signal.lfilter(b, a, _rng(2).standard_normal(int(seconds * SR)))


def click_train(seconds: float = 3.0) -> np.ndarray:
    x = np.zeros(int(seconds * SR))
    x[:: SR // 4] = 1.0
    return x


def loud_clipped(seconds: float = 3.0) -> np.ndarray:
    return np.clip(_rng(3).standard_normal(int(seconds * SR)) * 6.0, -1.0, 1.0) + 0.2


def tiny(seconds: float = 3.0) -> np.ndarray:
    return _rng(4).standard_normal(int(seconds * SR)) * 1e-5


def square(seconds: float = 3.0) -> np.ndarray:
    """±1 square wave of whole 400 Hz periods: zero mean, so the finished |x| is gain x fades."""
    period = SR // 400
    n = int(seconds * SR) // period * period
    return np.where((np.arange(n) // (period // 2)) % 2 == 0, 1.0, -1.0)


NORMALISABLE: dict[str, Callable[[], np.ndarray]] = {
    "noise_bursts": noise_bursts,
    "sine": sine,
    "pinkish": pinkish,
    "loud_clipped": loud_clipped,
    "tiny": tiny,
}


def _reference_lufs(x: np.ndarray, sr: int = SR) -> float:
    return float(pyloudnorm.Meter(sr).integrated_loudness(np.asarray(x, dtype=np.float64)))


# --- loudness and true peak -------------------------------------------------------------------


@pytest.mark.parametrize("make", NORMALISABLE.values(), ids=NORMALISABLE.keys())
def test_finished_pcm_hits_target_and_stays_under_ceiling(make: Callable[[], np.ndarray]) -> None:
    settings = FinishSettings()
    out = finish(make(), SR, settings)
    measured = _reference_lufs(out.samples)
    assert measured == pytest.approx(settings.target_lufs, abs=0.5)
    assert out.lufs == pytest.approx(measured, abs=1e-6)
    assert out.true_peak_dbfs <= settings.true_peak_dbfs + 0.05
    assert out.true_peak_dbfs == pytest.approx(true_peak_dbfs(out.samples), abs=1e-9)


@pytest.mark.parametrize("make", [noise_bursts, pinkish, sine], ids=["noise_bursts", "pinkish", "sine"])
def test_decoded_mp3_keeps_loudness(make: Callable[[], np.ndarray]) -> None:
    out = finish(make(), SR)
    decoded, sr = decode_mp3(out.mp3)
    assert _reference_lufs(decoded, sr) == pytest.approx(out.lufs, abs=1.0)


@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_other_loudness_targets_are_honoured(target: float) -> None:
    out = finish(pinkish(), SR, FinishSettings(target_lufs=target))
    assert _reference_lufs(out.samples) == pytest.approx(target, abs=0.5)
    assert out.true_peak_dbfs <= -1.0 + 0.05


def test_peaky_audio_is_held_at_the_ceiling_and_ends_below_target() -> None:
    settings = FinishSettings(true_peak_dbfs=-2.0)
    out = finish(click_train(), SR, settings)
    assert out.true_peak_dbfs == pytest.approx(-2.0, abs=0.05)
    assert out.lufs < settings.target_lufs - 0.5


def test_true_peak_sees_intersample_peaks() -> None:
    # A quarter-rate sine at 45° has every sample at ±0.707 but peaks at 1.0 between them.
    n = np.arange(SR)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)
    assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbfs(x) == pytest.approx(0.0, abs=0.2)


def test_input_scale_dtype_and_shape_do_not_matter() -> None:
    base = pinkish(3.0)
    reference = finish(base, SR).samples
    for variant in (base * 32768.0, (base / np.max(np.abs(base))).astype(np.float16), base[np.newaxis, :]):
        np.testing.assert_allclose(finish(variant, SR).samples, reference, atol=2e-3)


def test_nan_and_inf_are_zeroed() -> None:
    x = pinkish(3.0)
    x[100:200] = np.nan
    x[5000] = np.inf
    x[6000] = -np.inf
    out = finish(x, SR)
    assert np.all(np.isfinite(out.samples))
    assert out.lufs == pytest.approx(-18.0, abs=0.5)


# --- silence and short clips ------------------------------------------------------------------


@pytest.mark.parametrize(
    "audio",
    [np.zeros(3 * SR), np.full(3 * SR, 0.5), np.full(3 * SR, np.nan), np.zeros(100, dtype=np.float32)],
    ids=["zeros", "dc_only", "all_nan", "very_short_zeros"],
)
def test_silence_gives_a_valid_silent_mp3(audio: np.ndarray) -> None:
    out = finish(audio, SR)
    decoded, sr = decode_mp3(out.mp3)
    assert sr == SR
    assert decoded.shape == (audio.shape[0],)
    assert np.max(np.abs(decoded)) == 0.0
    assert out.lufs == -math.inf
    assert out.true_peak_dbfs == -math.inf


def test_short_clip_falls_back_to_peak_normalisation() -> None:
    out = finish(pinkish(0.2), SR)
    assert math.isnan(out.lufs)  # BS.1770 needs a 400 ms block
    assert out.true_peak_dbfs == pytest.approx(-1.0, abs=0.05)
    assert decode_mp3(out.mp3)[0].shape == (int(0.2 * SR),)


# --- fades ------------------------------------------------------------------------------------


def _raised_cosine(length: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(length) / length)


def test_fades_are_raised_cosine_ramps() -> None:
    settings = FinishSettings(fade_in_s=0.05, fade_out_s=0.25)
    out = finish(square(), SR, settings)
    envelope = np.abs(out.samples.astype(np.float64))
    n_in, n_out = round(0.05 * SR), round(0.25 * SR)
    gain = envelope[n_in:-n_out]
    assert np.ptp(gain) < 1e-6  # untouched between the fades
    gain = float(gain[0])
    assert out.samples[0] == 0.0
    assert out.samples[-1] == 0.0
    np.testing.assert_allclose(envelope[:n_in] / gain, _raised_cosine(n_in), atol=1e-5)
    np.testing.assert_allclose(envelope[-n_out:] / gain, _raised_cosine(n_out)[::-1], atol=1e-5)
    assert np.all(np.diff(envelope[:n_in]) >= 0)


def test_fades_never_exceed_a_quarter_of_the_clip() -> None:
    x = square(0.5)
    out = finish(x, SR, FinishSettings(fade_in_s=2.0, fade_out_s=2.0))
    envelope = np.abs(out.samples.astype(np.float64))
    quarter = x.shape[0] // 4
    middle = envelope[quarter : x.shape[0] - quarter]
    assert np.ptp(middle) < 1e-6
    assert envelope[quarter - 1] < middle[0]
    assert envelope[0] == 0.0


def test_zero_length_fades_leave_edges_alone() -> None:
    out = finish(square(), SR, FinishSettings(fade_in_s=0.0, fade_out_s=0.0))
    assert abs(out.samples[0]) == pytest.approx(np.max(np.abs(out.samples)))


# --- MP3 container ----------------------------------------------------------------------------


@pytest.mark.parametrize("num_samples", [1, 575, 577, 3200, 2 * SR + 7, 5 * SR])
def test_mp3_decodes_gapless_to_the_same_length_and_alignment(num_samples: int) -> None:
    x = sine(num_samples / SR + 1.0, freq=300.0)[:num_samples]
    out = finish(x, SR, FinishSettings(fade_in_s=0.0, fade_out_s=0.0))
    decoded, sr = decode_mp3(out.mp3)
    # LAME's Info frame carries delay and padding; mpg123 trims them: exact length, no shift.
    assert sr == out.sample_rate == SR
    assert decoded.shape == (num_samples,)
    assert out.duration_s == num_samples / SR
    if num_samples >= 3200:
        lags = range(-8, 9)
        best = max(lags, key=lambda k: float(np.dot(np.roll(decoded, -k), out.samples)))
        assert best == 0
        np.testing.assert_allclose(decoded, out.samples, atol=0.03)


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 24000, 32000, 44100, 48000])
def test_every_offered_bitrate_is_gapless(sample_rate: int) -> None:
    x = (0.3 * np.sin(2 * np.pi * 300 * np.arange(sample_rate // 2) / sample_rate)).astype(np.float32)
    for bitrate in supported_bitrates(sample_rate):
        for vbr in (False, True):
            data = encode_mp3(x, sample_rate, bitrate, vbr=vbr)
            assert mp3_frames(data) == x.shape[0], (bitrate, vbr)


def test_encoder_level_matches_input() -> None:
    # LAME attenuates by 0.95-1.0 depending on bitrate; encode_mp3 undoes it.
    for sample_rate, bitrate in ((16000, 64), (16000, 160), (44100, 192), (44100, 224), (48000, 320)):
        x = (0.5 * np.sin(2 * np.pi * 440 * np.arange(sample_rate) / sample_rate)).astype(np.float32)
        decoded, _ = decode_mp3(encode_mp3(x, sample_rate, bitrate))
        gain = float(np.dot(decoded, x) / np.dot(x, x))
        assert gain == pytest.approx(1.0, abs=0.005), (sample_rate, bitrate)


def test_finished_audio_exposes_read_only_float32_pcm() -> None:
    out = finish(sine(), SR)
    assert isinstance(out, FinishedAudio)
    assert out.samples.dtype == np.float32
    assert not out.samples.flags.writeable
    assert out.bitrate_kbps == 128


def test_decode_rejects_non_mp3() -> None:
    with pytest.raises(ValueError, match="MP3"):
        decode_mp3(b"definitely not audio" * 10)


# --- bitrate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_rate", "bitrate"),
    [(16000, 48), (16000, 96), (16000, 128), (16000, 160), (44100, 64), (44100, 128), (44100, 320)],
)
def test_cbr_bitrate_is_close_to_asked(sample_rate: int, bitrate: int) -> None:
    seconds = 4
    x = (_rng(5).standard_normal(seconds * sample_rate) * 0.1).astype(np.float32)
    measured_kbps = len(encode_mp3(x, sample_rate, bitrate)) * 8 / seconds / 1000
    assert measured_kbps == pytest.approx(bitrate, rel=0.15)


def test_abr_stays_near_or_under_asked() -> None:
    x = (_rng(6).standard_normal(4 * SR) * 0.1).astype(np.float32)
    measured_kbps = len(encode_mp3(x, SR, 64, vbr=True)) * 8 / 4 / 1000
    assert 0.8 * 64 <= measured_kbps <= 1.15 * 64


def test_compression_level_inverts_libsndfile_formula() -> None:
    for sample_rate, low, high in ((16000, 8, 160), (44100, 32, 320), (8000, 8, 64)):
        for bitrate in supported_bitrates(sample_rate):
            level = compression_level(bitrate, sample_rate)
            assert 0.0 <= level < 1.0
            assert int(high - level * (high - low)) == bitrate


def test_bitrate_limits_of_mpeg2() -> None:
    assert supported_bitrates(16000)[-1] == 160
    assert 32 not in supported_bitrates(16000)  # too small a frame for the gapless Info frame
    x = np.zeros(SR, dtype=np.float32)
    with pytest.raises(ValueError, match=r"192 kbps is not an MP3 bitrate at 16000 Hz.*160"):
        encode_mp3(x, SR, 192)
    with pytest.raises(ValueError, match="Hz"):
        encode_mp3(x, 16001, 128)


def test_finish_clamps_bitrate_to_the_sample_rate() -> None:
    out = finish(sine(), SR, FinishSettings(mp3_bitrate_kbps=320))
    assert out.bitrate_kbps == 160
    out = finish(sine(), SR, FinishSettings(mp3_bitrate_kbps=32))
    assert out.bitrate_kbps == 40


def test_vbr_setting_encodes() -> None:
    out = finish(pinkish(), SR, FinishSettings(mp3_vbr=True, mp3_bitrate_kbps=96))
    assert decode_mp3(out.mp3)[0].shape == out.samples.shape


@pytest.mark.parametrize("max_bytes", [40_000, 100_000, 250_000, 10 * 1024 * 1024])
def test_fit_bitrate_respects_the_cap(max_bytes: int) -> None:
    seconds = 5.0
    bitrate = fit_bitrate(seconds, max_bytes, SR)
    tags = Mp3Tags(prompt="x" * 300, seed=2**32 - 1, model="cvssp/audioldm2-large", negative_prompt="y" * 300)
    out = finish(pinkish(seconds), SR, FinishSettings(mp3_bitrate_kbps=bitrate), tags)
    assert out.bitrate_kbps == bitrate
    assert len(out.mp3) <= max_bytes
    higher = [r for r in supported_bitrates(SR) if r > bitrate]
    if higher:  # the next bitrate up would not have been guaranteed to fit
        assert cbr_size_bound(int(seconds * SR), SR, higher[0]) + TAG_RESERVE_BYTES > max_bytes


def test_fit_bitrate_picks_the_highest_that_fits() -> None:
    assert fit_bitrate(30.0, 10 * 1024 * 1024, SR) == 160
    assert fit_bitrate(30.0, 10 * 1024 * 1024, 44100) == 320
    assert fit_bitrate(30.0, 250_000, SR) == 64  # 30 s at 64 kbps is ~240 kB


def test_fit_bitrate_refuses_impossible_caps() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        fit_bitrate(30.0, 10_000, SR)
    with pytest.raises(ValueError, match="positive"):
        fit_bitrate(0.0, 10_000, SR)


# --- tags -------------------------------------------------------------------------------------


def test_tags_round_trip_with_non_ascii_prompt() -> None:
    tags = Mp3Tags(
        prompt=PROMPT,
        seed=123456789,
        model="cvssp/audioldm2",
        preset="rain",
        negative_prompt="low quality, 音楽",
        steps=50,
        guidance=3.5,
    )
    out = finish(pinkish(2.0), SR, tags=tags)
    read = read_tags(out.mp3)
    assert read["title"] == PROMPT
    assert read["artist"] == "AmbientGen"
    assert read["prompt"] == PROMPT
    assert read["seed"] == "123456789"
    assert read["model"] == "cvssp/audioldm2"
    assert read["preset"] == "rain"
    assert read["negative_prompt"] == "low quality, 音楽"
    assert read["steps"] == "50"
    assert read["guidance"] == "3.5"
    assert "123456789" in read["comment"]
    assert out.mp3.startswith(b"ID3")
    decoded, sr = decode_mp3(out.mp3)
    assert sr == SR
    assert decoded.shape == out.samples.shape
    assert out.duration_s == out.samples.shape[0] / SR


def test_optional_tags_are_omitted_and_title_defaults_to_prompt() -> None:
    read = read_tags(write_tags(encode_mp3(np.zeros(SR, np.float32), SR, 64), Mp3Tags("wind", 1, "m")))
    assert read["title"] == "wind"
    assert {"prompt", "seed", "model"} <= read.keys()
    assert not {"preset", "negative_prompt", "steps", "guidance"} & read.keys()


def test_untagged_mp3_has_no_tags() -> None:
    assert finish(sine(), SR).mp3[:3] != b"ID3"
    assert read_tags(finish(sine(), SR).mp3) == {}


def test_tags_from_request() -> None:
    request = GenerationRequest(
        user_text="rain at night",
        prompt="gentle rain at night, ambient, high quality",
        negative_prompt="",
        preset="rain",
        raw=False,
        duration_s=10.0,
        steps=40,
        guidance=3.0,
        seed=99,
    )
    tags = Mp3Tags.from_request(request, model="cvssp/audioldm2")
    assert tags.display_title == "rain at night"
    assert tags.fields() == {
        "prompt": "gentle rain at night, ambient, high quality",
        "seed": "99",
        "model": "cvssp/audioldm2",
        "preset": "rain",
        "steps": "40",
        "guidance": "3",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
        ({"model": " "}, "model"),
        ({"steps": 0}, "steps"),
        ({"guidance": math.nan}, "guidance"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_tag_validation(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"prompt": "wind", "seed": 1, "model": "m", **kwargs}
    with pytest.raises(ValueError, match=field):
        Mp3Tags(**values)  # type: ignore[arg-type]


# --- settings and input validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target_lufs": -60.0}, "target_lufs"),
        ({"target_lufs": 0.0}, "target_lufs"),
        ({"target_lufs": math.nan}, "target_lufs"),
        ({"true_peak_dbfs": 0.5}, "true_peak_dbfs"),
        ({"fade_in_s": -0.1}, "fade_in_s"),
        ({"fade_out_s": math.inf}, "fade_out_s"),
        ({"mp3_bitrate_kbps": 100}, "mp3_bitrate_kbps"),
        ({"mp3_bitrate_kbps": True}, "mp3_bitrate_kbps"),
        ({"mp3_vbr": "yes"}, "mp3_vbr"),
    ],
)
def test_settings_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        FinishSettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("audio", "sample_rate", "message"),
    [
        (np.zeros(SR, dtype=np.int16), SR, "floating point"),
        (np.zeros((2, SR)), SR, "mono"),
        (np.zeros(0), SR, "empty"),
        (np.zeros(SR), 17000, "17000 Hz"),
    ],
)
def test_bad_input_is_rejected(audio: np.ndarray, sample_rate: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        finish(audio, sample_rate)


def test_integrated_loudness_helper_edge_cases() -> None:
    assert math.isnan(integrated_loudness(np.ones(100), SR))
    assert integrated_loudness(np.zeros(SR), SR) == -math.inf


def test_finishing_does_not_import_heavy_dependencies() -> None:
    code = (
        "import sys, generation.audio.finishing\n"
        "bad = {'torch', 'diffusers', 'discord'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- stereo, 44.1 kHz (Stable Audio) -------------------------------------------------------------

SR_STEREO = 44_100


def _stereo_noise(seconds: float = 4.0, balance: float = 0.5, seed: int = 4) -> np.ndarray:
    """Decorrelated pink-ish noise, the right channel ``balance`` times the left, with some DC."""
    rng = _rng(seed)
    n = int(seconds * SR_STEREO)
    b, a = signal.butter(2, 4000, fs=SR_STEREO)
    left, right = (signal.lfilter(b, a, rng.standard_normal(n)) for _ in range(2))
    return np.stack([left, balance * right], axis=1) * 0.2 + 0.05


def test_stereo_is_finished_as_stereo_on_target_and_under_the_ceiling() -> None:
    audio = _stereo_noise()
    done = finish(audio.astype(np.float32), SR_STEREO, FinishSettings(target_lufs=-16.0))
    assert done.samples.shape == audio.shape and done.channels == 2
    assert done.lufs == pytest.approx(-16.0, abs=0.05)
    assert done.true_peak_dbfs <= -1.0 + 1e-6
    # BS.1770: both channels count, with the reference meter's channel weights.
    meter = pyloudnorm.Meter(SR_STEREO)
    assert meter.integrated_loudness(done.samples.astype(np.float64)) == pytest.approx(-16.0, abs=0.05)
    # One gain for both sides: the image (right at half the left) and the DC removal per channel.
    ratio = np.std(done.samples[:, 1]) / np.std(done.samples[:, 0])
    assert ratio == pytest.approx(np.std(audio[:, 1]) / np.std(audio[:, 0]), rel=1e-3)
    assert np.abs(done.samples.mean(axis=0)).max() < 1e-3


def test_stereo_mp3_decodes_to_the_same_layout_length_and_loudness() -> None:
    done = finish(_stereo_noise(5.0), SR_STEREO)
    decoded, rate = decode_mp3(done.mp3)
    assert rate == SR_STEREO and decoded.shape == done.samples.shape
    assert done.duration_s == pytest.approx(5.0, abs=1e-6)
    assert integrated_loudness(decoded, rate) == pytest.approx(done.lufs, abs=0.3)
    assert done.bitrate_kbps == 128


def test_stereo_fades_shape_both_channels_alike() -> None:
    audio = np.ones((SR_STEREO, 2))
    audio[:, 1] = -1.0
    done = finish(audio + np.linspace(0, 1e-3, SR_STEREO)[:, None], SR_STEREO)
    head = done.samples[: int(0.05 * SR_STEREO)]
    assert head[0, 0] == pytest.approx(0.0, abs=1e-3) and head[0, 1] == pytest.approx(0.0, abs=1e-3)
    np.testing.assert_allclose(np.abs(head[:, 0]), np.abs(head[:, 1]), rtol=1e-2, atol=1e-4)


def test_low_bitrates_are_raised_to_what_stereo_can_carry() -> None:
    done = finish(_stereo_noise(2.0), SR_STEREO, FinishSettings(mp3_bitrate_kbps=56))
    assert done.bitrate_kbps == 64  # 56 kbps frames are too small for stereo's gapless header
    assert decode_mp3(done.mp3)[0].shape[0] == done.samples.shape[0]
    mono = finish(_stereo_noise(2.0)[:, 0], SR_STEREO, FinishSettings(mp3_bitrate_kbps=56))
    assert mono.bitrate_kbps == 56 and mono.channels == 1


def test_stereo_silence_stays_silent() -> None:
    done = finish(np.zeros((SR_STEREO, 2)), SR_STEREO)
    assert done.lufs == -math.inf and not done.samples.any() and done.samples.shape == (SR_STEREO, 2)


def test_inaudible_content_is_removed_so_the_file_lands_on_target() -> None:
    from generation.audio.finishing import audible_band

    t = np.arange(4 * SR_STEREO) / SR_STEREO
    hiss = 0.5 * np.sin(2 * np.pi * 21_000 * t)  # above hearing, dropped by any MP3 encoder
    audio = _stereo_noise(4.0) + hiss[:, None]
    done = finish(audio, SR_STEREO)
    spectrum = np.abs(np.fft.rfft(done.samples[:, 0]))
    frequencies = np.fft.rfftfreq(done.samples.shape[0], 1 / SR_STEREO)
    assert spectrum[frequencies > 20_500].max() < 1e-6 * spectrum.max()
    decoded, rate = decode_mp3(done.mp3)
    assert integrated_loudness(decoded, rate) == pytest.approx(-18.0, abs=0.3)  # as any clip's MP3
    low = np.sin(2 * np.pi * 440 * t)
    np.testing.assert_allclose(audible_band(low, SR_STEREO), low, atol=1e-9)  # the audible band is kept
    mono16 = np.random.default_rng(0).standard_normal(SR)
    assert audible_band(mono16, SR) is mono16  # 16 kHz audio has nothing above 8 kHz to remove


def test_tiny_stable_audio_lands_on_target_after_mp3(tiny_sao_engine) -> None:  # type: ignore[no-untyped-def]
    from generation.prompting import build_request

    (wave,) = tiny_sao_engine.generate([build_request("rain on a tin roof", seed=5, steps=10, duration=6.0)])
    done = finish(wave, tiny_sao_engine.sample_rate)
    decoded, rate = decode_mp3(done.mp3)
    assert rate == 44_100 and decoded.shape == (6 * rate, 2)
    assert integrated_loudness(decoded, rate) == pytest.approx(-18.0, abs=0.2)
