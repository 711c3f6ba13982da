"""Events (``thunder:0.5~60s``): parsed, cut into one-shots, scattered at Poisson onsets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from generation.errors import RequestError
from generation.recipes.events import MAX_SHOT_S, next_gap, one_shots, scatter
from generation.recipes.layers import (
    describe_layers,
    is_layered,
    layer_from_dict,
    layer_to_dict,
    parse_layers,
)
from generation.recipes.mixing import Mix
from generation.request import GenerationRequest

RATE = 16_000


def claps(seconds: float, at: list[float], seed: int = 0) -> np.ndarray:
    """Quiet noise with loud decaying bursts at ``at`` seconds."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(round(seconds * RATE)).astype(np.float32) * 0.001
    burst = rng.standard_normal(RATE).astype(np.float32) * np.exp(-np.arange(RATE) / 1600).astype(np.float32)
    for t in at:
        i = round(t * RATE)
        x[i : i + RATE] += burst[: x.shape[0] - i]
    return x


def test_the_event_syntax_is_read_written_and_stored() -> None:
    layers = parse_layers("rain + thunder:0.5~60s")
    assert [(layer.text, layer.gain, layer.every_s) for layer in layers] == [
        ("rain", 1.0, None),
        ("thunder", 0.5, 60.0),
    ]
    assert describe_layers(layers) == "rain:1 + thunder:0.5~60s"
    assert parse_layers(describe_layers(layers)) == layers
    assert [layer_from_dict(layer_to_dict(layer)) for layer in layers] == layers
    assert parse_layers("rain + owl@tiny:0.3 ~ 45s")[1].every_s == 45.0
    assert parse_layers("thunder~20s")[0].every_s == 20.0  # an event alone is a scene too


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rain + thunder~often", "'~<seconds>s' at its end"),
        ("rain + thunder:0.5~1s", "every 2 to 3600 seconds"),
        ("rain + thunder:0.5~9000s", "every 2 to 3600 seconds"),
    ],
)
def test_bad_events_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse_layers(text)


def test_a_tilde_that_is_no_event_stays_words() -> None:
    """Only a layer ending in an event (or a typo of one) is an event: a "~" standing apart or a
    run of them is part of the words, in a scene and alone."""
    layers = parse_layers("rain + waves ~ calm + " + "~" * 40)
    assert [layer.text for layer in layers] == ["rain", "waves ~ calm", "~" * 40]
    assert all(layer.every_s is None for layer in layers)
    assert not is_layered("waves ~ calm") and not is_layered("~" * 40)
    assert not is_layered("a*~水é*[a](http://b)/*@here")  # inside other text, no spaces around
    assert is_layered("thunder~often") and is_layered("thunder:0.5 ~ 60s")


def test_one_shots_are_the_loud_moments_trimmed_and_faded() -> None:
    x = claps(20.0, [2.0, 9.0, 15.0])
    shots = one_shots(x, RATE)
    assert len(shots) == 3
    for shot in shots:
        assert 0.25 * RATE <= shot.shape[0] <= MAX_SHOT_S * RATE
        assert abs(shot[0]) < 0.01 and abs(shot[-1]) < 0.01  # faded: no click at either end
        assert np.max(np.abs(shot)) > 0.5  # the burst itself, not the quiet bed
    assert one_shots(np.zeros(RATE * 5, dtype=np.float32), RATE) == []


def test_onsets_average_the_interval_with_a_refractory_quarter() -> None:
    rng = np.random.default_rng(1)
    gaps = np.array([next_gap(rng, 60.0) for _ in range(20_000)])
    assert gaps.min() >= 15.0
    assert gaps.mean() == pytest.approx(60.0, rel=0.02)
    shots = one_shots(claps(20.0, [2.0, 9.0, 15.0]), RATE)
    stem, onsets = scatter(shots, 3600 * RATE, RATE, 30.0, np.random.default_rng(2), circular=False)
    spacing = np.diff(onsets) / RATE
    assert spacing.min() >= 7.5 and 0.7 < spacing.mean() / 30.0 < 1.3
    assert stem.shape == (3600 * RATE,)


def test_a_looping_scene_wraps_an_event_round_its_end() -> None:
    shot = np.ones(RATE, dtype=np.float32)
    rng = np.random.default_rng(3)
    for _ in range(50):
        stem, onsets = scatter([shot], 10 * RATE, RATE, 5.0, rng, circular=True)
        late = [o for o in onsets if o > 9 * RATE]
        if late:
            assert stem[: late[-1] + RATE - 10 * RATE].min() >= 0.7  # went on at the start (gain ±3 dB)
            return
    pytest.fail("no onset near the end in 50 tries")


def test_a_posted_scene_places_its_events_at_random_within_its_length() -> None:
    layers = parse_layers("rain + thunder:0.5~4s")
    request = GenerationRequest(
        user_text="rain", prompt="rain", negative_prompt="", preset=None, raw=False,
        duration_s=30.0, steps=2, guidance=1.0, seed=5,
    )  # fmt: skip
    bed = np.random.default_rng(4).standard_normal(30 * RATE).astype(np.float32) * 0.1
    thunder = claps(30.0, [3.0, 20.0])
    mix = Mix.create(layers, [request, request.with_seed(6)], [bed, thunder], RATE)
    event = mix.stems[1]
    assert event.shape == bed.shape
    env = np.abs(event).reshape(-1, RATE // 10).max(axis=1)
    loud = np.flatnonzero(env > 0.1 * env.max())
    starts = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > 5]
    assert len(starts) >= 3  # scattered several times, not only where the model put them
