"""``/presets`` texts: the models loaded, each preset's settings per model, always within limits."""

from __future__ import annotations

import discord

from bot.ui.presets import WORDS, model_presets_embed, presets_embed
from bot.ui.text import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    TITLE_MAX,
)
from generation.craft import STABLE_AUDIO_OPEN
from generation.models import ModelCatalog, ModelChoice
from generation.presets import PRESETS
from generation.prompting import build_request

CATALOG = ModelCatalog.from_ids(["tiny", "tiny-sao", "tiny-sa3"])


def _field(embed: discord.Embed, key: str) -> str:
    (value,) = [f.value for f in embed.fields if f.name and f.name.endswith(f"(`{key}`)")]
    assert value is not None
    return value


def _within_limits(embed: discord.Embed) -> None:
    assert len(embed) <= EMBED_TOTAL_MAX
    assert len(embed.title or "") <= TITLE_MAX and len(embed.description or "") <= DESCRIPTION_MAX
    assert len(embed.fields) <= FIELDS_MAX
    for item in embed.fields:
        assert len(item.name or "") <= FIELD_NAME_MAX and 0 < len(item.value or "") <= FIELD_VALUE_MAX


def test_the_catalogue_names_every_loaded_model_and_the_presets_worded_for_one() -> None:
    embed = presets_embed(CATALOG)
    description = embed.description or ""
    assert "**tiny** (AudioLDM2, the default): 16 kHz mono" in description
    assert "**tiny-sao** (Stable Audio Open): 44.1 kHz stereo; 100 steps" in description
    assert "**tiny-sa3** (Stable Audio 3): 44.1 kHz stereo, distilled" in description
    assert "`/presets model:`" in description
    assert len(embed.fields) == len(PRESETS)
    # Rain has its own wording on Stable Audio; a preset without one says nothing about models.
    assert _field(embed, "rain").endswith("Worded its own way on tiny-sao, tiny-sa3")
    assert (
        _field(embed, "ocean")
        == "Waves breaking on a shore.\n*e.g.* `/ambient waves rolling onto a sandy beach`"
    )
    _within_limits(embed)


def test_a_model_view_shows_what_build_request_gives_and_the_catalogue_where_it_differs() -> None:
    sao = CATALOG.get("tiny-sao")
    embed = model_presets_embed(sao)
    assert embed.title == "Presets on tiny-sao (Stable Audio Open)"
    assert "Every prompt ends with “stereo, 44.1 kHz”" in (embed.description or "")
    rain = _field(embed, "rain").split("\n")
    # Rain's guidance is 7 in the catalogue and on Stable Audio Open: no bracket for it.
    assert rain[1] == "100 steps (catalogue: 50) · fast 50 (catalogue: 25) · guidance 7"
    assert rain[2] == "Avoids: music, voices, low quality, distorted"
    expected = build_request(WORDS, preset="rain", seed=0, model=sao).prompt
    assert rain[3] == f"Worded its own way: {expected}" and "steady rain" in expected
    storm = _field(embed, "thunderstorm").split("\n")
    assert storm[1] == "100 steps (catalogue: 50) · fast 50 (catalogue: 25) · guidance 7 (catalogue: 6.5)"
    assert len(storm) == 3  # the catalogue's wording (plus the suffix said once above)
    cafe = _field(embed, "cafe")
    assert "Avoids: music, clear speech, low quality, distorted" in cafe
    _within_limits(embed)


def test_the_distilled_model_avoids_nothing_and_the_default_model_differs_in_nothing() -> None:
    sa3 = model_presets_embed(CATALOG.get("tiny-sa3"))
    for key in PRESETS:
        lines = _field(sa3, key).split("\n")
        assert lines[1].startswith(
            "8 steps (catalogue: 50) · fast 8 (catalogue: 25) · guidance 1 (catalogue: "
        )
        assert lines[2] == "Avoids: nothing (this model takes no negative prompt)"
    tiny = model_presets_embed(CATALOG.get("tiny"))
    assert "catalogue:" not in "".join(f.value or "" for f in tiny.fields)
    assert "Worded" not in "".join(f.value or "" for f in tiny.fields)
    space = _field(tiny, "space").split("\n")
    assert space[1:] == [
        "50 steps · fast 25 · guidance 5.5",
        "Avoids: vocals, speech, drums, percussion, low quality, distorted",
    ]


def test_many_models_with_long_marked_up_names_still_fit_and_stay_plain() -> None:
    names = [f"**{i}** [x](https://evil.example) @everyone " + "m" * 250 for i in range(30)]
    catalog = ModelCatalog(tuple(ModelChoice(name, STABLE_AUDIO_OPEN) for name in names))
    for embed in (presets_embed(catalog), model_presets_embed(catalog.default)):
        _within_limits(embed)
        text = " ".join([embed.title or "", embed.description or "", *(f.value or "" for f in embed.fields)])
        assert "**0**" not in text and "](https://" not in text and "@everyone" not in text
