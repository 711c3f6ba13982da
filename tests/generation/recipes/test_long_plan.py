"""Long renders' plans: segments the model accepts covering the exact length, seeds, bad lengths."""

from __future__ import annotations

import math
import re

import pytest

from generation.errors import RequestError
from generation.prompting import build_request
from generation.recipes.long_plan import plan_long_render
from generation.request import MAX_DURATION_S, MAX_SEED, GenerationRequest


def _request(**kw: object) -> GenerationRequest:
    params: dict[str, object] = {"seed": 7, "steps": 10} | kw
    return build_request("rain on a tin roof", **params)  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [2.5, 10.0, 29.9, 30.0, 61.0, 180.0, 599.5, 600.0])
@pytest.mark.parametrize("loop", [False, True])
def test_plan_covers_the_length_with_segments_the_model_accepts(length: float, loop: bool) -> None:
    plan = plan_long_render(_request(), length, loop=loop)
    assert all(2.5 <= r.duration_s <= MAX_DURATION_S for r in plan.segments)
    assert len({r.duration_s for r in plan.segments}) == 1
    # Even if every segment came back a mel frame (10 ms) short, the timeline covers the length.
    shortest = plan.segment_s - 0.01
    covered = plan.count * shortest - (plan.count - 1) * plan.crossfade_s
    assert covered >= length + (plan.crossfade_s if loop else 0.0)
    # ...and no more segments than needed.
    assert (plan.count - 1) * (MAX_DURATION_S - plan.crossfade_s) < length + plan.crossfade_s


def test_ten_minutes_is_22_segments_with_consecutive_seeds() -> None:
    plan = plan_long_render(_request(seed=MAX_SEED - 1), 600)
    assert plan.count == 22
    assert [r.seed for r in plan.segments[:3]] == [MAX_SEED - 1, MAX_SEED, 0]
    assert {r.prompt for r in plan.segments} == {plan.base.prompt}


@pytest.mark.parametrize(
    ("length", "message"),
    [
        (601, "Length must be between 2.5 seconds and 10 minutes; you asked for 601 s."),
        (1.0, "you asked for 1 s"),
        (math.nan, "you asked for nan"),
        (True, "must be a number of seconds"),
        ("long", "must be a number of seconds"),
    ],
)
def test_bad_lengths_are_request_errors(length: object, message: str) -> None:
    with pytest.raises(RequestError, match=re.escape(message)):
        plan_long_render(_request(), length)  # type: ignore[arg-type]
