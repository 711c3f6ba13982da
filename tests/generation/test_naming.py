"""Slugs and clip file names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generation.naming import FALLBACK_SLUG, mp3_filename, slugify


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Rain with crickets!", "rain-with-crickets"),
        ("  Café   au lait ", "cafe-au-lait"),
        ("Straße", "strasse"),
        ("rain_on--a/roof\\..", "rain-on-a-roof"),
        ("🌧️ rain 🌧️", "rain"),
        ("Ünïcödé", "unicode"),
        ("🌧️", FALLBACK_SLUG),
        ("雨", FALLBACK_SLUG),
        ("", FALLBACK_SLUG),
        ("...", FALLBACK_SLUG),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_long_slug_is_cut_at_a_word_boundary() -> None:
    slug = slugify("gentle rain on a tin roof with distant thunder and crickets")
    assert slug == "gentle-rain-on-a-tin-roof-with-distant"
    assert len(slug) <= 40


def test_single_long_word_is_cut_hard() -> None:
    assert slugify("a" * 60) == "a" * 40


def test_cut_exactly_at_boundary_keeps_the_whole_word() -> None:
    assert slugify("abcd efgh", max_len=4) == "abcd"


def test_max_len_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_len"):
        slugify("rain", max_len=0)


def test_fallback_respects_max_len() -> None:
    assert slugify("🌧️", max_len=4) == FALLBACK_SLUG[:4]


def test_mp3_filename() -> None:
    assert mp3_filename("Rain with crickets!", 1234) == "rain-with-crickets-1234.mp3"
    assert mp3_filename("", 0) == "soundscape-0.mp3"


@given(text=st.text(), max_len=st.integers(1, 80))
def test_slug_is_always_safe(text: str, max_len: int) -> None:
    slug = slugify(text, max_len)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
    assert len(slug) <= max_len


def test_a_scene_file_names_its_layers_not_only_the_first() -> None:
    from generation.naming import FILENAME_SLUG_MAX, scene_slug

    assert mp3_filename("rain:0.8 + distant thunder@tiny-sao:0.4 + crickets", 7) == (
        "rain_distant-thunder_crickets-7.mp3"
    )
    many = " + ".join(f"layer number {i} of wind" for i in range(6))
    slug = scene_slug(many)
    assert len(slug) <= FILENAME_SLUG_MAX and slug.startswith("layer-number-0-of-wind_")
    assert slug.endswith("-more")  # the layers that did not fit are counted, not dropped silently
    assert mp3_filename("rain with crickets", 3) == "rain-with-crickets-3.mp3"
