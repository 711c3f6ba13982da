"""The prompt lab's plan, its table, and a take saved as a preset (pure logic, no model)."""

from __future__ import annotations

import pytest

from bot.studio.lab import MAX_TAKES, Variant, lab_words, parse_values, plan_grid, preset_from_take, row_job
from generation.errors import RequestError
from generation.models import ModelCatalog
from generation.preset_matching import get_preset
from generation.prompting import build_request

CATALOG = ModelCatalog.from_ids(["tiny", "tiny-sao"])


def test_the_grid_is_every_combination_of_the_variants() -> None:
    rows, seeds = plan_grid(quality=["on", "off"], negative=["on"], guidance="3, 6", steps="", seeds=2)
    assert seeds == 2 and len(rows) == 4
    assert rows[0] == Variant(True, True, 3.0, None) and rows[-1] == Variant(False, True, 6.0, None)
    assert rows[-1].label() == "quality off, negative on, guidance 6"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"quality": []}, "Quality phrases: tick on, off or both"),
        ({"guidance": "3, loud"}, "'loud' is not a number"),
        ({"steps": "25.5"}, "must be a whole number"),
        ({"seeds": 5}, "Seeds must be from 1 to 4"),
        ({"guidance": "1 2 3 4 5", "seeds": 4}, f"up to {MAX_TAKES} at a time"),
    ],
)
def test_a_bad_grid_is_one_clear_message(form: dict[str, object], message: str) -> None:
    plan = {"quality": ["on"], "negative": ["on"], "guidance": "", "steps": "", "seeds": 2} | form
    with pytest.raises(RequestError, match=message):
        plan_grid(**plan)  # type: ignore[arg-type]


def test_words_or_a_category() -> None:
    assert lab_words("  soft rain ", None) == ("soft rain", None)
    text, preset = lab_words("", "Ocean")
    assert preset == "ocean" and text == get_preset("ocean").example
    with pytest.raises(RequestError, match="Type some words or pick a category"):
        lab_words(" ", "")
    assert parse_values("", "x") == [None] and parse_values("3 3, 4", "x") == [3.0, 4.0]


def test_a_row_renders_its_variant_with_the_same_seeds() -> None:
    job = row_job(CATALOG, Variant(False, False, 4.0, 20), words="soft rain", preset=None, model="tiny",
                  duration=3.0, seed=10, seeds=3)  # fmt: skip
    request = job.request
    assert request.prompt == "soft rain" and request.negative_prompt == ""  # untouched, no negative
    assert (request.guidance, request.steps, request.seed, job.variations) == (4.0, 20, 10, 3)
    assert [r.seed for r in job.plain_requests()] == [10, 11, 12]


def test_a_take_becomes_a_preset_with_its_template_and_settings() -> None:
    request = build_request(
        "soft rain", guidance=4.0, steps=30, duration=6, seed=1, model=CATALOG.get("tiny")
    )
    preset = preset_from_take("  Soft Rain  ", request, CATALOG)
    assert preset.key == "soft-rain" and preset.label == "Soft Rain" and preset.keywords == ()
    assert preset.template.startswith("{text}, ") and preset.render("soft rain") == request.prompt
    assert (preset.guidance, preset.steps, preset.duration_s) == (4.0, 30, 6.0)
    assert preset.negative_prompt == request.negative_prompt
    sao = build_request("soft rain", seed=1, model=CATALOG.get("tiny-sao"))
    suffix = CATALOG.get("tiny-sao").craft.suffix
    assert suffix == "" or not preset_from_take("x", sao, CATALOG).template.endswith(suffix)
    with pytest.raises(RequestError, match="Give the preset a name"):
        preset_from_take("!!", request, CATALOG)
