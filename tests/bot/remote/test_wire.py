"""Orders and outcomes survive the trip through Redis bytes unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.jobs.executor import Work
from bot.remote.wire import (
    WireError,
    decode_outcomes,
    encode_outcomes,
    mix_from_bytes,
    mix_to_bytes,
    order_from_dict,
    order_to_dict,
)
from generation.errors import Cancelled, GenerationError, OutOfMemory, RequestError, StuckGeneration
from generation.prompting import build_request
from generation.recipes.layers import LayerSpec
from generation.recipes.mixing import Mix
from generation.recipes.order import Clip, Rendered, RenderJob
from generation.recipes.recipe import Recipe, build_order

RATE = 16_000


def scene() -> Mix:
    _request, recipe = build_order("rain:0.8 + crickets:0.4", seed=5, duration=5.0)
    rng = np.random.default_rng(1)
    waves = [rng.standard_normal(RATE).astype(np.float32) * 0.1 for _ in recipe.layers]
    return Mix.create(recipe.layers, recipe.layer_requests, waves, RATE)


def test_an_order_round_trips_with_its_recipe() -> None:
    request, recipe = build_order("campfire", seed=7, loop=True, length="90s")
    job = RenderJob(request, recipe, variations=1, max_bytes=8_000_000, source_model="tiny")
    work = Work(42, job, "0123456789abcdef")
    back = order_from_dict(order_to_dict(work, "blob-key"))
    assert back == work and back.nonce == "0123456789abcdef"  # the job row it was made for
    assert order_to_dict(work, "blob-key")["source_key"] == "blob-key"


def test_stems_travel_as_npz_and_come_back_equal() -> None:
    mix = scene()
    back = mix_from_bytes(mix_to_bytes(mix))
    assert back.layers == mix.layers and back.requests == mix.requests and back.sample_rate == RATE
    for a, b in zip(back.stems, mix.stems, strict=True):
        np.testing.assert_array_equal(a, b)
    recipe = Recipe(source_job_id=3, reroll_layer=1, layers=mix.layers, layer_requests=mix.requests)
    work = Work(9, RenderJob(mix.requests[0], recipe, source=back))
    assert order_from_dict(order_to_dict(work), back).render.source is back


def test_outcomes_round_trip_clips_spares_stems_and_errors() -> None:
    one = build_request("rain", seed=1)
    clip = Clip(one, b"ID3" + bytes(range(256)) * 40, -18.2, 10.0)
    spare = Clip(one.with_seed(2), b"ID3spare", float("-inf"), 9.5, score=0.25)
    mix = scene()
    outcomes = {
        1: Rendered(posted=[clip], seconds=1.5, spares=[spare], mix=mix),
        2: Cancelled(),
        3: RequestError("Layer 2 is empty."),
        4: OutOfMemory("CUDA out of memory"),
        5: StuckGeneration("no progress for 600 s"),
        6: KeyError("a bug"),
    }
    blob = encode_outcomes(outcomes, model="tiny", sample_rate=RATE, worker="gpu-1", batch="ab/1.x+2.y")
    decoded = decode_outcomes(blob)
    assert (decoded.model, decoded.sample_rate, decoded.worker) == ("tiny", RATE, "gpu-1")
    assert decoded.batch == "ab/1.x+2.y"  # the batch (and so the database) it answers
    first = decoded.results[1]
    assert isinstance(first, Rendered)
    assert first.seconds == 1.5
    assert [(c.request, c.mp3, c.lufs, c.duration_s, c.score) for c in first.posted] == [
        (one, clip.mp3, -18.2, 10.0, None)
    ]
    assert first.spares[0].mp3 == b"ID3spare" and first.spares[0].score == 0.25
    assert math.isinf(first.spares[0].lufs)
    assert first.mix is not None and first.mix.layers == mix.layers
    assert isinstance(decoded.results[2], Cancelled)
    assert type(decoded.results[3]) is RequestError and str(decoded.results[3]) == "Layer 2 is empty."
    assert type(decoded.results[4]) is OutOfMemory
    assert type(decoded.results[5]) is StuckGeneration
    # An unexpected exception type is a model failure on the bot's side, never an unknown class.
    assert type(decoded.results[6]) is GenerationError


def test_ten_mib_of_mp3_travels_in_one_blob() -> None:
    big = Clip(build_request("drone"), b"\xff" * (10 * 1024 * 1024), -18.0, 600.0)
    blob = encode_outcomes({7: Rendered(posted=[big], seconds=60.0)}, model="m", sample_rate=RATE, worker="w")
    assert len(blob) < 10 * 1024 * 1024 + 4096  # the header is small beside the audio
    result = decode_outcomes(blob).results[7]
    assert isinstance(result, Rendered) and result.posted[0].mp3 == big.mp3


@pytest.mark.parametrize("blob", [b"", b"nope", b"AGW1\x00\x00\x00\x05{bad}", b"AGW1\x00\x00\x00\x02{}"])
def test_damaged_blobs_are_refused(blob: bytes) -> None:
    with pytest.raises(WireError):
        decode_outcomes(blob)


def test_a_blob_pointing_past_its_end_is_refused() -> None:
    clip = Clip(build_request("rain"), b"ID3" * 100, -18.0, 1.0)
    blob = encode_outcomes({1: Rendered(posted=[clip], seconds=1.0)}, model="m", sample_rate=RATE, worker="w")
    with pytest.raises(WireError, match="past its end"):
        decode_outcomes(blob[:-10])


def test_layer_specs_keep_their_gains() -> None:
    mix = scene().remix([0.5, 1.5])
    assert mix_from_bytes(mix_to_bytes(mix)).layers == (LayerSpec("rain", 0.5), LayerSpec("crickets", 1.5))
