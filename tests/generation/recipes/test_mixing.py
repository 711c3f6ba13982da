"""Layered scenes: per-layer gains as measured in the mix, the loudness target, rerolls."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pytest

from generation.audio.finishing import FinishSettings
from generation.audio.loudness import integrated_loudness
from generation.audio.mp3 import decode_mp3
from generation.audio.tags import read_tags
from generation.backends.audioldm2.engine import AudioEngine
from generation.errors import RequestError
from generation.recipes.layer_requests import layer_requests, render_stems
from generation.recipes.layers import LayerSpec, parse_layers
from generation.recipes.mixing import STEM_LUFS, Mix, normalise_stem

SR = 16_000


# --- mixing on the tiny model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tiny_engine: AudioEngine) -> tuple[Mix, list[np.ndarray]]:
    """A three-layer mix and the raw model output of its layers."""
    layers = parse_layers("rain:1 + crickets:0.5 + distant thunder:0.25")
    requests = layer_requests(layers, seed=5, steps=10, duration=4)
    raw = render_stems(requests, tiny_engine.generate)
    return Mix.create(layers, requests, raw, tiny_engine.sample_rate), raw


@pytest.fixture
def mix(rendered: tuple[Mix, list[np.ndarray]]) -> Mix:
    return rendered[0]


def _contributions_by_regression(audio: np.ndarray, raw_stems: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each raw stem scaled by how much of it the mix contains (least squares), with no knowledge
    of the mix's internals."""
    matrix = np.stack([np.asarray(s, dtype=np.float64) for s in raw_stems], axis=1)
    matrix -= matrix.mean(axis=0)
    coefficients, *_ = np.linalg.lstsq(matrix, audio, rcond=None)
    return [matrix[:, i] * coefficients[i] for i in range(matrix.shape[1])]


def test_each_layer_sits_at_its_gain_in_the_finished_mix(rendered: tuple[Mix, list[np.ndarray]]) -> None:
    mix, raw = rendered
    done = mix.finish(FinishSettings(fade_in_s=0.0, fade_out_s=0.0))
    parts = _contributions_by_regression(done.samples.astype(np.float64), raw)
    levels = [integrated_loudness(part, SR) for part in parts]
    # rain:1, crickets:0.5, thunder:0.25 -> 0, -6.0, -12.0 dB relative to the rain.
    assert levels[1] - levels[0] == pytest.approx(-6.02, abs=0.1)
    assert levels[2] - levels[0] == pytest.approx(-12.04, abs=0.1)
    # The mix is nothing but those three contributions.
    assert np.abs(done.samples - sum(parts)).max() < 1e-5


def test_mix_is_at_the_loudness_target(mix: Mix) -> None:
    for target in (-18.0, -23.0):
        done = mix.finish(FinishSettings(target_lufs=target))
        assert done.lufs == pytest.approx(target, abs=0.05)
        assert done.true_peak_dbfs <= -1.0 + 1e-6
    samples, _ = decode_mp3(mix.finish(tags=mix.tags("tiny")).mp3)
    assert samples.shape[0] == mix.stems[0].shape[0]
    tags = read_tags(mix.finish(tags=mix.tags("tiny")).mp3)
    assert tags["title"] == "rain:1 + crickets:0.5 + distant thunder:0.25"


def test_stems_are_normalised_to_a_common_loudness(mix: Mix) -> None:
    for stem in mix.stems:
        assert integrated_loudness(stem, SR) == pytest.approx(STEM_LUFS, abs=0.05)
        assert not stem.flags.writeable


def test_rerolling_one_layer_changes_only_that_layer(mix: Mix, tiny_engine: AudioEngine) -> None:
    new_request = mix.requests[1].with_seed(999)
    (new_wave,) = tiny_engine.generate([new_request])
    rerolled = mix.replace_layer(1, new_wave, new_request)

    assert rerolled.stems[0] is mix.stems[0] and rerolled.stems[2] is mix.stems[2]
    assert rerolled.requests[1].seed == 999 and rerolled.requests[0] == mix.requests[0]
    assert rerolled.gains == mix.gains
    difference = rerolled.mixdown() - mix.mixdown()
    # Before finishing, the mixes differ by exactly the swapped layer's contributions...
    expected = rerolled.contribution(1) - mix.contribution(1)
    assert np.abs(difference - expected).max() < 1e-6
    assert np.abs(expected).max() > 0.01
    # ...and after finishing, the untouched layers keep their relative level.
    assert rerolled.finish().lufs == pytest.approx(-18.0, abs=0.05)


def test_changing_a_level_rerenders_nothing(mix: Mix) -> None:
    louder = mix.with_gain(2, 1.0)
    assert all(a is b for a, b in zip(louder.stems, mix.stems, strict=True))
    assert louder.gains == (1.0, 0.5, 1.0)
    assert louder.describe() == "rain:1 + crickets:0.5 + distant thunder:1"
    with pytest.raises(RequestError, match="between 0 and 2"):
        mix.with_gain(0, 3.0)
    with pytest.raises(RequestError, match="2 levels were given for 3 layers"):
        mix.remix([1.0, 1.0])


def test_saved_mix_loads_back_identical(mix: Mix) -> None:
    buffer = io.BytesIO()
    mix.save(buffer)
    buffer.seek(0)
    loaded = Mix.load(buffer)
    assert loaded.layers == mix.layers and loaded.requests == mix.requests
    assert loaded.sample_rate == mix.sample_rate
    assert all(np.array_equal(a, b) for a, b in zip(loaded.stems, mix.stems, strict=True))
    assert loaded.finish().mp3 == mix.finish().mp3


def test_stem_normalisation_edge_cases() -> None:
    assert not np.any(normalise_stem(np.zeros(SR), SR))
    short = np.full(100, 0.5)
    assert np.array_equal(normalise_stem(short, SR), np.zeros(100, dtype=np.float32))  # DC only
    with pytest.raises(ValueError, match="one request and one waveform per layer"):
        Mix.create([LayerSpec("rain", 1.0)], [], [], SR)


# --- layers from different models --------------------------------------------------------------


def _clicks(rate: int, seconds: float, channels: int) -> np.ndarray:
    """Low-level noise with a click every second: where the clicks sit shows the timing."""
    rng = np.random.default_rng(rate)
    x = rng.standard_normal(int(seconds * rate)) * 1e-3
    x[rate // 2 :: rate] = 1.0
    return x if channels == 1 else np.stack([x, -0.5 * x], axis=1)


def test_a_16_khz_mono_layer_and_a_44_1_khz_stereo_layer_mix_in_sync() -> None:
    from generation.recipes.mixing import mix_rate

    layers = parse_layers("rain + crickets")
    requests = layer_requests(layers, seed=1, duration=4)
    waveforms = [_clicks(16_000, 4.0, 1), _clicks(44_100, 4.0, 2)]
    rate = mix_rate([16_000, 44_100])
    mix = Mix.create(layers, requests, waveforms, rate, sample_rates=[16_000, 44_100])
    assert (mix.sample_rate, mix.channels) == (44_100, 2)
    assert all(stem.shape == (4 * 44_100, 2) for stem in mix.stems)
    mono_up = mix.stems[0]
    assert np.array_equal(mono_up[:, 0], mono_up[:, 1])  # the mono layer sits in the middle
    for stem in mix.stems:  # every click lands on the same sample, whatever the layer's rate
        clicks = np.sort(np.argsort(np.abs(stem[:, 0]))[-4:])
        assert np.all(np.abs(clicks - (np.arange(4) * 44_100 + 22_050)) <= 1), clicks
    done = mix.finish(FinishSettings())
    decoded, decoded_rate = decode_mp3(done.mp3)
    assert decoded_rate == 44_100 and decoded.shape == (4 * 44_100, 2)


def test_a_mix_of_tiny_and_tiny_sao_is_one_stereo_file_naming_both_models(
    tiny_engine: AudioEngine,
    tiny_sao_engine,  # type: ignore[no-untyped-def]
) -> None:
    layers = parse_layers("rain:1 + crickets:0.5")
    rain, crickets = layer_requests(layers, seed=3, steps=10, duration=3)
    (low,) = tiny_engine.generate([rain])
    (wide,) = tiny_sao_engine.generate([crickets])
    rates = [tiny_engine.sample_rate, tiny_sao_engine.sample_rate]
    mix = Mix.create(layers, [rain, crickets], [low, wide], max(rates), sample_rates=rates)
    done = mix.finish(tags=mix.tags([tiny_engine.model_name, tiny_sao_engine.model_name]))
    decoded, rate = decode_mp3(done.mp3)
    assert rate == 44_100 and decoded.shape == (3 * 44_100, 2)
    assert read_tags(done.mp3)["model"] == "tiny + tiny-sao"
    assert mix.tags(["tiny", "tiny"]).model == "tiny"  # one model is named once
    # A layer rerolled on the other model is conformed the same way.
    (again,) = tiny_engine.generate([rain.with_seed(9)])
    rerolled = mix.replace_layer(0, again, rain.with_seed(9), sample_rate=16_000)
    assert rerolled.stems[0].shape == mix.stems[0].shape and rerolled.stems[1] is mix.stems[1]
    buffer = io.BytesIO()
    rerolled.save(buffer)
    buffer.seek(0)
    loaded = Mix.load(buffer)
    assert loaded.sample_rate == 44_100 and loaded.channels == 2
    assert all(np.array_equal(a, b) for a, b in zip(loaded.stems, rerolled.stems, strict=True))


def test_stereo_stems_are_normalised_on_both_channels() -> None:
    stereo = _clicks(44_100, 3.0, 2) + np.random.default_rng(1).standard_normal((3 * 44_100, 2)) * 0.1
    stem = normalise_stem(stereo, 44_100)
    assert stem.shape == stereo.shape and not stem.flags.writeable
    assert integrated_loudness(stem, 44_100) == pytest.approx(STEM_LUFS, abs=0.01)
    with pytest.raises(ValueError, match="one sample rate per waveform"):
        Mix.create(parse_layers("a + b"), layer_requests(parse_layers("a + b")), [stereo, stereo], 44_100,
                   sample_rates=[44_100])  # fmt: skip
