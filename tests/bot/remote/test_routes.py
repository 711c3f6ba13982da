"""Routing batches to the workers that serve their models: queue names and room per model."""

from __future__ import annotations

import pytest

from bot.remote.broker import PROTOCOL, split_job_id
from bot.remote.flights import parse_workers
from bot.remote.routes import (
    MAX_MODELS_PER_BATCH,
    any_room,
    has_room,
    resolve,
    route_name,
    routes_served,
    serves,
)
from generation.prompting import build_request
from generation.recipes.order import RenderJob
from generation.recipes.recipe import Recipe, build_order

TINY, SAO = frozenset({"tiny"}), frozenset({"tiny-sao"})
BOTH = TINY | SAO


def test_a_route_is_named_after_its_set_of_models_in_any_order() -> None:
    assert route_name("ambientgen", ["tiny"]) == "ambientgen@v3@tiny"
    assert route_name("ambientgen", ["tiny-sao", "tiny"]) == route_name("ambientgen", ["tiny", "tiny-sao"])
    assert route_name("ambientgen", ["tiny", "tiny-sao"]) == "ambientgen@v3@tiny+tiny-sao"
    with pytest.raises(ValueError, match="at least one model"):
        route_name("ambientgen", [])


def test_names_that_are_no_plain_key_get_a_hash_so_two_models_never_share_a_queue() -> None:
    hub = route_name("q", ["cvssp/audioldm2"])
    assert hub.startswith("q@v3@cvssp_audioldm2~") and ":" not in hub and "/" not in hub
    assert hub != route_name("q", ["cvssp_audioldm2"]) != route_name("q", ["cvssp:audioldm2"])
    long = route_name("q", ["x" * 200])
    assert len(long) < 60 and long != route_name("q", ["x" * 201])
    # A batch's SAQ id splits back into its route and key.
    assert split_job_id(f"saq:job:{hub}:42+43") == (hub, "42+43")


def test_a_worker_consumes_every_set_of_its_models_a_batch_may_need() -> None:
    assert routes_served("q", ["tiny"]) == ["q@v3@tiny"]
    assert routes_served("q", ["tiny-sao", "tiny"]) == ["q@v3@tiny", "q@v3@tiny-sao", "q@v3@tiny+tiny-sao"]
    six = [f"m{i}" for i in range(6)]
    routes = routes_served("q", six)
    assert len(routes) == 6 + 15 + 20 + 15  # sets of 1 to 4 models: no batch needs more
    assert route_name("q", six[:MAX_MODELS_PER_BATCH]) in routes
    assert route_name("q", six[:5]) not in routes


def test_what_a_job_needs_the_default_named() -> None:
    plain = RenderJob(build_request("rain", model=None))
    assert resolve(plain.models(), "tiny") == ("tiny",)
    sao = RenderJob(build_request("rain").with_model("tiny-sao"))
    assert resolve(sao.models(), "tiny") == ("tiny-sao",)
    _request, scene = build_order("rain + crickets", duration=5.0)
    layers = (scene.layer_requests[0], scene.layer_requests[1].with_model("tiny-sao"))
    layered = Recipe(layers=scene.layers, layer_requests=layers)
    assert resolve(RenderJob(layers[0], layered).models(), "tiny") == ("tiny", "tiny-sao")
    # A layer reroll renders only its layer; a level change renders nothing.
    reroll = Recipe(layers=scene.layers, layer_requests=layers, source_job_id=1, reroll_layer=1)
    assert resolve(RenderJob(layers[0], reroll).models(), "tiny") == ("tiny-sao",)
    levels = Recipe(layers=scene.layers, layer_requests=layers, source_job_id=1)
    assert RenderJob(layers[0], levels).models() == []
    takes = (build_request("rain").with_model("tiny-sao"), build_request("rain").with_model("tiny"))
    compare = RenderJob(build_request("rain"), Recipe(compare=takes))
    assert resolve(compare.models(), "x") == ("tiny", "tiny-sao")


def test_naming_the_default_keeps_a_comparison_blind() -> None:
    takes = (build_request("rain").with_model("tiny-sao"), build_request("rain"))
    job = RenderJob(build_request("rain"), Recipe(compare=takes)).naming("tiny")
    assert job.request.model is None  # stands for both takes
    assert [take.model for take in job.recipe.compare] == ["tiny-sao", "tiny"]
    assert RenderJob(build_request("rain")).naming("tiny").request.model == "tiny"


def test_room_is_counted_per_model() -> None:
    workers = [(TINY, 2), (SAO, 2)]
    assert has_room([], workers, TINY) and has_room([], workers, SAO)
    assert not has_room([TINY, TINY], workers, TINY)  # the tiny worker is full
    assert has_room([TINY, TINY], workers, SAO)  # which leaves the other model's worker alone
    assert not has_room([], workers, BOTH)  # nobody serves both at once
    assert not serves(workers, BOTH) and serves(workers, SAO)
    assert any_room([TINY, TINY], workers) and not any_room([TINY, TINY, SAO, SAO], workers)


def test_a_worker_of_several_models_is_shared_where_the_batches_fit_best() -> None:
    workers = [(TINY, 1), (BOTH, 1)]
    # One tiny batch out: it can sit on the tiny-only worker, so the both-models one has room.
    assert has_room([TINY], workers, SAO)
    assert has_room([TINY], workers, BOTH)
    assert not has_room([TINY, TINY], workers, SAO)
    assert not has_room([SAO], workers, SAO)


def test_batches_no_online_worker_can_run_hold_no_slot() -> None:
    workers = [(TINY, 1)]
    assert has_room([SAO, SAO], workers, TINY)  # their worker left; they wait for it
    assert not has_room([], workers, SAO)
    assert not has_room([], [], TINY) and not any_room([], [])


def test_presence_names_every_model_of_a_worker() -> None:
    meta = {"protocol": PROTOCOL, "name": "gpu1", "sample_rate": 16000, "device": "cuda:0", "slots": 2}
    warned: set[str] = set()
    fleet = parse_workers(
        {
            "a": {"metadata": meta | {"models": ["tiny", "tiny-sao"], "max_batch": {"10.0": 4}}},
            "b": {"metadata": meta | {"name": "gpu2", "models": ["tiny"], "max_batch": {"10.0": 8}}},
            "c": {"metadata": meta | {"model": "tiny", "max_batch": {"10.0": 8}}},  # protocol 1's shape
            "d": {"metadata": meta | {"protocol": 1, "models": ["tiny"], "max_batch": {"10.0": 8}}},
        },
        warned,
    )
    assert [w.name for w in fleet.workers] == ["gpu1", "gpu2"] and warned == {"c", "d"}
    assert fleet.models == ("tiny", "tiny-sao")
    assert [w.name for w in fleet.serving(SAO)] == ["gpu1"]
    assert fleet.batch_limit(10.0, TINY) == 4 and fleet.batch_limit(10.0, SAO) == 4
    assert fleet.batch_limit(10.0, frozenset({"other"})) == 1
