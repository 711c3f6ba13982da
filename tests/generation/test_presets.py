"""The preset catalogue, keyword matching, lookup and autocomplete search."""

from __future__ import annotations

import dataclasses

import pytest

from generation.errors import RequestError
from generation.preset_matching import (
    MAX_AUTOCOMPLETE,
    get_preset,
    is_form_of,
    match_preset,
    mentions,
    search_presets,
)
from generation.presets import DEFAULT_NEGATIVE_PROMPT, PRESETS, Preset
from generation.request import MAX_DURATION_S, MAX_PROMPT_CHARS, MIN_DURATION_S

REQUIRED = (
    "rain",
    "thunderstorm",
    "ocean",
    "forest-night",
    "fireplace",
    "river",
    "wind",
    "cafe",
    "city",
    "birdsong",
    "space",
)


def test_default_negative_prompt_is_the_researched_one() -> None:
    assert DEFAULT_NEGATIVE_PROMPT == "music, voices, low quality, distorted"


@pytest.mark.parametrize("key", REQUIRED)
def test_required_preset_exists(key: str) -> None:
    assert PRESETS[key].key == key


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=list(PRESETS))
def test_preset_is_tuned_within_research_bounds(preset: Preset) -> None:
    assert 5.0 <= preset.guidance <= 7.5
    assert preset.steps != 100
    assert 40 <= preset.steps <= 60
    assert MIN_DURATION_S <= preset.duration_s <= MAX_DURATION_S
    assert preset.template.count("{text}") == 1
    assert "high quality" in preset.template
    assert "ambient soundscape" in preset.template
    assert preset.label and preset.description and preset.example
    assert preset.keywords
    assert len(preset.example) <= MAX_PROMPT_CHARS


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=list(PRESETS))
def test_preset_example_matches_its_own_preset(preset: Preset) -> None:
    assert match_preset(preset.example) is preset


def test_render_keeps_user_words_and_ignores_braces_in_them() -> None:
    rendered = PRESETS["rain"].render("rain {on} a {0} roof")
    assert rendered.startswith("rain {on} a {0} roof, ")


def test_template_without_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="text"):
        Preset(key="x", label="X", keywords=("x",), template="no placeholder")


def test_preset_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["rain"].guidance = 9.0  # type: ignore[misc]


def test_rain_asks_for_punctual_droplets_with_more_guidance() -> None:
    rain = PRESETS["rain"]
    assert "drop" in rain.template
    assert rain.guidance > PRESETS["ocean"].guidance


@pytest.mark.parametrize("key", ["cafe", "city"])
def test_murmur_presets_do_not_forbid_voices(key: str) -> None:
    negative = PRESETS[key].negative_prompt
    assert "voices" not in negative
    assert "speech" in negative


def test_keywords_are_not_shared_between_presets() -> None:
    seen: dict[str, str] = {}
    for preset in PRESETS.values():
        for keyword in preset.keywords:
            assert keyword not in seen, f"{keyword!r} in {seen.get(keyword)} and {preset.key}"
            seen[keyword] = preset.key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("rain with crickets", "rain"),
        ("raining", "rain"),
        ("Rainy afternoon", "rain"),
        ("drizzling on the window", "rain"),
        ("a crackling fire", "fireplace"),
        ("waves on a beach", "ocean"),
        ("coffee shop", "cafe"),
        ("a Parisian CAFÉ", "cafe"),
        ("thunder", "thunderstorm"),
        ("rain and thunder", "thunderstorm"),
        ("heavy rain, then thunder", "thunderstorm"),
        ("a forest at night", "forest-night"),
        ("crickets on a summer night", "crickets"),
        ("crickets chirping", "crickets"),
        ("birds chirping at sunrise", "birdsong"),
        ("busy city streets", "city"),
        ("cities at dusk", "city"),
        ("a babbling brook", "river"),
        ("wind howling", "wind"),
        ("drifting through deep space", "space"),
        ("the deep sea", "underwater"),
        ("a train at night", "train"),
        ("rain-soaked street", "rain"),
    ],
)
def test_match_preset(text: str, key: str) -> None:
    preset = match_preset(text)
    assert preset is not None
    assert preset.key == key


@pytest.mark.parametrize(
    "text",
    ["brain fog", "terrain", "fireworks over a lake", "rainbow", "season", "windows", "", "🌧️", "lava"],
)
def test_no_match_inside_unrelated_words(text: str) -> None:
    assert match_preset(text) is None


def test_tie_goes_to_earliest_keyword() -> None:
    assert match_preset("fire by the river").key == "fireplace"  # type: ignore[union-attr]
    assert match_preset("river by the fire").key == "river"  # type: ignore[union-attr]


def test_more_keywords_beat_priority() -> None:
    # One storm word against two ocean words: the ocean has more to say.
    assert match_preset("storm over waves crashing on the beach").key == "ocean"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("word", "base", "expected"),
    [
        ("raining", "rain", True),
        ("rains", "rain", True),
        ("brain", "rain", False),
        ("crackling", "crackle", True),
        ("breezy", "breeze", True),
        ("cities", "city", True),
        ("dripping", "drip", True),
        ("firework", "fire", False),
        ("seas", "sea", True),
        ("season", "sea", False),
        ("cared", "car", False),
        ("owls", "owl", True),
    ],
)
def test_is_form_of(word: str, base: str, expected: bool) -> None:
    assert is_form_of(word, base) is expected


def test_mentions_is_whole_word_and_both_ways() -> None:
    assert mentions("a voice in the dark", "voices")
    assert mentions("voices in the dark", "voice")
    assert mentions("soft MUSIC", "music")
    assert not mentions("musicbox", "music")
    assert not mentions("clear skies", "clear speech")
    assert not mentions("anything", "")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("rain", "rain"),
        ("RAIN", "rain"),
        ("  Ocean ", "ocean"),
        ("forest-night", "forest-night"),
        ("forest_night", "forest-night"),
        ("Forest at night", "forest-night"),
        ("🌲 Forest at night", "forest-night"),
        ("Café", "cafe"),
        ("coffee shop", "cafe"),
        ("ocean waves", "ocean"),
        ("deep space", "space"),
    ],
)
def test_get_preset_accepts_keys_labels_and_aliases(name: str, key: str) -> None:
    assert get_preset(name).key == key


def test_unknown_preset_lists_every_key() -> None:
    with pytest.raises(RequestError) as info:
        get_preset("lava")
    message = str(info.value)
    assert message.startswith("Unknown preset 'lava'. Choose one of: rain, thunderstorm, ")
    for key in PRESETS:
        assert key in message


def test_unknown_preset_message_shortens_long_names() -> None:
    with pytest.raises(RequestError) as info:
        get_preset("x" * 500)
    assert "x" * 41 not in str(info.value)


def test_search_empty_lists_all() -> None:
    assert search_presets("") == list(PRESETS.values())[:MAX_AUTOCOMPLETE]


def test_search_prefix_of_key_comes_first() -> None:
    found = search_presets("ra")
    assert found[0].key == "rain"
    assert {p.key for p in found} >= {"rain", "train"}


def test_search_by_keyword_label_and_case() -> None:
    assert [p.key for p in search_presets("COFFEE")] == ["cafe"]
    assert PRESETS["forest-night"] in search_presets("at night")
    assert PRESETS["cafe"] in search_presets("café")


def test_search_limits() -> None:
    assert len(search_presets("", limit=3)) == 3
    assert search_presets("", limit=0) == []
    assert len(search_presets("", limit=1000)) <= MAX_AUTOCOMPLETE
    assert search_presets("no such thing") == []
