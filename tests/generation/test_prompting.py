"""build_request: cleaning, preset resolution, defaults and every user-facing validation message."""

from __future__ import annotations

import dataclasses
import math
import random
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generation.errors import RequestError
from generation.presets import DEFAULT_NEGATIVE_PROMPT, GENERIC_TEMPLATE, PRESETS
from generation.prompting import (
    DEFAULT_DURATION_S,
    DEFAULT_GUIDANCE,
    DEFAULT_STEPS,
    EMPTY_PROMPT_MESSAGE,
    build_request,
    clean_text,
    describe_request,
    format_number,
)
from generation.request import (
    MAX_DURATION_S,
    MAX_GUIDANCE,
    MAX_NEGATIVE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STEPS,
    MIN_DURATION_S,
    MIN_GUIDANCE,
    MIN_STEPS,
    SCHEDULERS,
    GenerationRequest,
)


def build(text: str = "rain on a tin roof", **kwargs: object) -> GenerationRequest:
    kwargs.setdefault("rng", random.Random(0))
    return build_request(text, **kwargs)  # type: ignore[arg-type]


def error(text: str = "rain on a tin roof", **kwargs: object) -> str:
    with pytest.raises(RequestError) as info:
        build(text, **kwargs)
    return str(info.value)


# --- module hygiene ---------------------------------------------------------------------------


def test_prompting_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, generation.prompting, generation.presets, generation.naming\n"
        "heavy = [m for m in ('torch', 'diffusers', 'discord', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_global_defaults_are_the_researched_ones() -> None:
    assert DEFAULT_DURATION_S == 10.0
    assert DEFAULT_STEPS == 50
    assert MIN_GUIDANCE <= 5.0 <= DEFAULT_GUIDANCE <= 7.5


# --- presets, templates and defaults ----------------------------------------------------------


def test_matched_preset_supplies_template_and_defaults() -> None:
    req = build("gentle rain on a tin roof")
    rain = PRESETS["rain"]
    assert req.preset == "rain"
    assert req.prompt == rain.render("gentle rain on a tin roof")
    assert req.negative_prompt == rain.negative_prompt
    assert (req.duration_s, req.steps, req.guidance) == (rain.duration_s, rain.steps, rain.guidance)
    assert req.scheduler == "default"
    assert req.raw is False


def test_no_match_uses_generic_template_and_global_defaults() -> None:
    req = build("a quiet library")
    assert req.preset is None
    assert req.prompt == GENERIC_TEMPLATE.format(text="a quiet library")
    assert "high quality recording" in req.prompt
    assert "ambient soundscape" in req.prompt
    assert req.negative_prompt == DEFAULT_NEGATIVE_PROMPT
    assert (req.duration_s, req.steps, req.guidance) == (DEFAULT_DURATION_S, DEFAULT_STEPS, DEFAULT_GUIDANCE)


def test_explicit_preset_beats_matching() -> None:
    req = build("rain on a tin roof", preset="fireplace")
    assert req.preset == "fireplace"
    assert req.prompt == PRESETS["fireplace"].render("rain on a tin roof")
    assert req.guidance == PRESETS["fireplace"].guidance


def test_explicit_preset_by_label_is_recorded_by_key() -> None:
    assert build("anything", preset="☕ Café").preset == "cafe"


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_preset_means_not_chosen(blank: str) -> None:
    assert build("waves on a beach", preset=blank).preset == "ocean"


def test_unknown_preset_lists_keys() -> None:
    message = error(preset="lava")
    assert message.startswith("Unknown preset 'lava'. Choose one of: ")
    assert all(key in message for key in PRESETS)


def test_explicit_values_beat_preset_defaults() -> None:
    req = build("rain", duration=20, steps=30, guidance=3.5, seed=7, scheduler="DDIM")
    assert (req.duration_s, req.steps, req.guidance, req.seed, req.scheduler) == (20.0, 30, 3.5, 7, "ddim")
    assert isinstance(req.duration_s, float)
    assert isinstance(req.steps, int)
    assert isinstance(req.guidance, float)


def test_whole_float_steps_and_seed_are_accepted() -> None:
    req = build("rain", steps=40.0, seed=12.0)
    assert (req.steps, req.seed) == (40, 12)
    assert isinstance(req.steps, int)
    assert isinstance(req.seed, int)


def test_other_real_numbers_are_accepted() -> None:
    assert build("rain", duration=Fraction(5, 2)).duration_s == 2.5


def test_trailing_punctuation_is_not_doubled_in_template() -> None:
    req = build("rain on a tin roof!!")
    assert req.user_text == "rain on a tin roof!!"
    assert req.prompt.startswith("rain on a tin roof, ")


def test_punctuation_only_prompt_is_kept() -> None:
    req = build("!!!")
    assert req.prompt.startswith("!!!, ")


def test_preset_negative_drops_terms_the_user_asked_for() -> None:
    req = build("café with soft jazz music")
    assert req.preset == "cafe"
    assert "music" not in req.negative_prompt
    assert "clear speech" in req.negative_prompt
    assert build("rain with a voice humming").negative_prompt == "music, low quality, distorted"


# --- raw mode ---------------------------------------------------------------------------------


def test_raw_sends_text_untouched_without_preset() -> None:
    req = build("  rain\ton a   tin roof ", raw=True)
    assert req.prompt == req.user_text == "rain on a tin roof"
    assert req.raw is True
    assert req.preset is None
    assert req.negative_prompt == DEFAULT_NEGATIVE_PROMPT
    assert (req.duration_s, req.steps, req.guidance) == (DEFAULT_DURATION_S, DEFAULT_STEPS, DEFAULT_GUIDANCE)


def test_raw_with_explicit_preset_records_it_and_uses_its_defaults_not_template() -> None:
    req = build("soft hiss", raw=True, preset="space")
    space = PRESETS["space"]
    assert req.prompt == "soft hiss"
    assert req.preset == "space"
    assert req.negative_prompt == DEFAULT_NEGATIVE_PROMPT
    assert (req.duration_s, req.steps, req.guidance) == (space.duration_s, space.steps, space.guidance)


def test_raw_keeps_default_negative_even_when_text_mentions_it() -> None:
    assert build("music", raw=True).negative_prompt == DEFAULT_NEGATIVE_PROMPT


def test_raw_uses_given_negative() -> None:
    assert build("rain", raw=True, negative="birds").negative_prompt == "birds"


# --- cleaning ---------------------------------------------------------------------------------


def test_whitespace_is_stripped_and_collapsed() -> None:
    assert build("  rain \n\n on\ta\r\nroof  ").user_text == "rain on a roof"


def test_zero_width_characters_are_removed() -> None:
    text = "\ufeffra\u200bin\u200c on\u200d a\u2060 roof"
    assert build(text).user_text == "rain on a roof"


def test_text_is_nfc_normalised() -> None:
    decomposed = "cafe\u0301"
    req = build(decomposed)
    assert req.user_text == "caf\u00e9"
    assert req.preset == "cafe"


@pytest.mark.parametrize("text", ["rain 🌧️ on a roof ⛈️", "مطر على سطح من الصفيح", "גשם על גג"])
def test_emoji_and_rtl_text_are_accepted(text: str) -> None:
    assert build(text).user_text == text


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x0b", "\x85"])
def test_control_characters_are_rejected_not_dropped(char: str) -> None:
    message = error(f"rain{char}roof")
    assert "control character" in message
    assert f"U+{ord(char):04X}" in message


def test_lone_surrogate_is_rejected() -> None:
    assert "U+D800" in error("rain \ud800")


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\u200b\u200d"])
def test_empty_prompt_has_a_helpful_message(text: str) -> None:
    assert error(text) == EMPTY_PROMPT_MESSAGE
    assert EMPTY_PROMPT_MESSAGE == "Please describe the soundscape you want, e.g. 'rain on a tin roof'."


def test_prompt_at_the_limit_is_accepted_after_cleaning() -> None:
    assert len(build("a" * MAX_PROMPT_CHARS + "   \u200b").user_text) == MAX_PROMPT_CHARS


def test_long_prompt_states_length_and_limit() -> None:
    message = error("a" * (MAX_PROMPT_CHARS + 45))
    assert str(MAX_PROMPT_CHARS + 45) in message
    assert str(MAX_PROMPT_CHARS) in message


def test_non_text_prompt_is_rejected() -> None:
    assert "text" in error(42)  # type: ignore[arg-type]


def test_clean_text_names_the_field() -> None:
    with pytest.raises(RequestError, match="negative prompt"):
        clean_text("a\x00", what="negative prompt")


# --- numeric validation -----------------------------------------------------------------------


def test_duration_message_is_exact() -> None:
    assert error(duration=45) == "Duration must be between 2.5 and 30 seconds; you asked for 45."
    assert error(duration=45.0) == "Duration must be between 2.5 and 30 seconds; you asked for 45."


@pytest.mark.parametrize(
    ("field", "value", "low", "high"),
    [
        ("duration", MIN_DURATION_S - 0.1, MIN_DURATION_S, MAX_DURATION_S),
        ("duration", MAX_DURATION_S + 1, MIN_DURATION_S, MAX_DURATION_S),
        ("steps", MIN_STEPS - 1, MIN_STEPS, MAX_STEPS),
        ("steps", MAX_STEPS + 1, MIN_STEPS, MAX_STEPS),
        ("guidance", MIN_GUIDANCE - 0.5, MIN_GUIDANCE, MAX_GUIDANCE),
        ("guidance", MAX_GUIDANCE + 5, MIN_GUIDANCE, MAX_GUIDANCE),
        ("seed", -1, 0, MAX_SEED),
        ("seed", MAX_SEED + 1, 0, MAX_SEED),
    ],
)
def test_out_of_range_message_states_bounds_and_value(
    field: str, value: float, low: float, high: float
) -> None:
    message = error(**{field: value})
    assert message.startswith(field.capitalize() + " must be between ")
    assert format_number(low) in message
    assert format_number(high) in message
    assert message.endswith(f"you asked for {format_number(value)}.")


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("duration", MIN_DURATION_S, MAX_DURATION_S),
        ("steps", MIN_STEPS, MAX_STEPS),
        ("guidance", MIN_GUIDANCE, MAX_GUIDANCE),
        ("seed", 0, MAX_SEED),
    ],
)
def test_bounds_are_inclusive(field: str, low: float, high: float) -> None:
    build(**{field: low})
    build(**{field: high})


@pytest.mark.parametrize("field", ["duration", "steps", "guidance", "seed"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(field: str, value: float) -> None:
    message = error(**{field: value})
    assert format_number(value) in message
    assert "between" in message


@pytest.mark.parametrize("field", ["duration", "steps", "guidance", "seed"])
@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(field: str, value: bool) -> None:
    message = error(**{field: value})
    assert repr(value) in message
    assert "between" in message


@pytest.mark.parametrize("field", ["duration", "steps", "guidance", "seed"])
def test_text_is_not_a_number(field: str) -> None:
    assert "'ten'" in error(**{field: "ten"})


@pytest.mark.parametrize("field", ["steps", "seed"])
def test_fractional_counts_are_rejected(field: str) -> None:
    message = error(**{field: 50.5})
    assert "whole number" in message
    assert "50.5" in message


# --- negative prompt --------------------------------------------------------------------------


def test_given_negative_is_cleaned_and_used() -> None:
    assert build("rain", negative="  birds,\n\tdogs\u200b ").negative_prompt == "birds, dogs"


@pytest.mark.parametrize("negative", ["", "   ", "\u200b"])
def test_empty_negative_means_none(negative: str) -> None:
    assert build("rain", negative=negative).negative_prompt == ""


def test_long_negative_states_length_and_limit() -> None:
    message = error(negative="n" * (MAX_NEGATIVE_CHARS + 1))
    assert "negative prompt" in message
    assert str(MAX_NEGATIVE_CHARS + 1) in message
    assert str(MAX_NEGATIVE_CHARS) in message


def test_negative_with_control_character_is_rejected() -> None:
    message = error(negative="birds\x1b[31m")
    assert "negative prompt" in message
    assert "U+001B" in message


# --- scheduler, seed, immutability ------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEDULERS)
def test_known_schedulers(name: str) -> None:
    assert build(scheduler=f" {name.upper()} ").scheduler == name


def test_unknown_scheduler_lists_names() -> None:
    message = error(scheduler="euler")
    assert message == f"Unknown scheduler 'euler'. Choose one of: {', '.join(SCHEDULERS)}."
    assert "scheduler" in error(scheduler=3)


def test_seed_is_deterministic_with_seeded_rng() -> None:
    first = build_request("rain", rng=random.Random(1234))
    second = build_request("rain", rng=random.Random(1234))
    assert first.seed == second.seed
    assert first == second


def test_seed_without_rng_is_in_range() -> None:
    seeds = {build_request("rain").seed for _ in range(5)}
    assert all(0 <= s <= MAX_SEED for s in seeds)


def test_given_seed_is_used_and_rng_untouched() -> None:
    rng = random.Random(5)
    state = rng.getstate()
    assert build_request("rain", seed=MAX_SEED, rng=rng).seed == MAX_SEED
    assert rng.getstate() == state


def test_request_is_frozen() -> None:
    req = build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.prompt = "something else"  # type: ignore[misc]


# --- presentation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (45.0, "45"),
        (45, "45"),
        (2.5, "2.5"),
        (30.0, "30"),
        (0.1, "0.1"),
        (math.nan, "nan"),
        (math.inf, "inf"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_describe_request_order_and_values() -> None:
    req = build("gentle rain", seed=42, duration=12.5)
    pairs = describe_request(req)
    assert [label for label, _ in pairs] == [
        "Prompt",
        "Expanded prompt",
        "Negative",
        "Preset",
        "Seed",
        "Duration",
        "Steps",
        "Guidance",
        "Scheduler",
    ]
    values = dict(pairs)
    assert values["Prompt"] == "gentle rain"
    assert values["Expanded prompt"] == req.prompt
    assert values["Preset"] == PRESETS["rain"].label
    assert values["Seed"] == "42"
    assert values["Duration"] == "12.5 s"
    assert values["Guidance"] == format_number(PRESETS["rain"].guidance)
    assert values["Scheduler"] == "default"
    assert all(isinstance(v, str) and v for _, v in pairs)


def test_describe_request_marks_raw_generic_and_empty_negative() -> None:
    assert dict(describe_request(build("rain", raw=True)))["Preset"] == "none (raw prompt)"
    assert dict(describe_request(build("a quiet library")))["Preset"] == "none (generic template)"
    assert "raw" in dict(describe_request(build("hiss", raw=True, preset="space")))["Preset"]
    assert dict(describe_request(build("rain", negative="")))["Negative"] == "(none)"


def test_describe_request_survives_unknown_stored_preset() -> None:
    req = dataclasses.replace(build(), preset="retired-preset")
    assert dict(describe_request(req))["Preset"] == "retired-preset"


# --- properties -------------------------------------------------------------------------------

# Arbitrary Unicode, plus a small alphabet dense in the characters cleaning has to handle.
_tricky = st.sampled_from(list("\x00\x07\x1b\n\t\r \u00a0\u200b\u200d\u2060\ufeff\ud800e\u0301a.!🌧️ם"))
_text = st.text(st.characters(codec="utf-8"), max_size=400) | st.text(_tricky, max_size=40)
_number = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True)


def _assert_valid(req: GenerationRequest) -> None:
    assert req.user_text
    assert len(req.user_text) <= MAX_PROMPT_CHARS
    assert req.user_text == req.user_text.strip()
    assert req.user_text.rstrip(".,;:!? ") in req.prompt
    assert len(req.negative_prompt) <= MAX_NEGATIVE_CHARS
    assert MIN_DURATION_S <= req.duration_s <= MAX_DURATION_S
    assert MIN_STEPS <= req.steps <= MAX_STEPS
    assert MIN_GUIDANCE <= req.guidance <= MAX_GUIDANCE
    assert 0 <= req.seed <= MAX_SEED
    assert req.scheduler in SCHEDULERS
    assert req.preset is None or req.preset in PRESETS


@settings(max_examples=300, deadline=None)
@given(text=_text, raw=st.booleans())
def test_any_text_gives_a_valid_request_or_a_request_error(text: str, raw: bool) -> None:
    try:
        req = build_request(text, raw=raw, rng=random.Random(0))
    except RequestError as exc:
        assert str(exc)
        return
    _assert_valid(req)
    if raw:
        assert req.prompt == req.user_text


@settings(max_examples=300, deadline=None)
@given(
    text=_text,
    preset=st.none() | st.sampled_from([*PRESETS, "lava", ""]) | st.text(max_size=10),
    duration=_number,
    steps=_number,
    guidance=_number,
    seed=_number,
    negative=st.none() | _text,
    scheduler=st.none() | st.sampled_from([*SCHEDULERS, "euler"]),
)
def test_any_arguments_give_a_valid_request_or_a_request_error(
    text: str,
    preset: str | None,
    duration: float | None,
    steps: int | None,
    guidance: float | None,
    seed: int | None,
    negative: str | None,
    scheduler: str | None,
) -> None:
    try:
        req = build_request(
            text,
            preset=preset,
            duration=duration,
            steps=steps,
            guidance=guidance,
            seed=seed,
            negative=negative,
            scheduler=scheduler,
            rng=random.Random(0),
        )
    except RequestError as exc:
        assert str(exc)
        return
    _assert_valid(req)
