"""Result and queue cards: user text escaped, a model folder by its name only, always within limits."""

from __future__ import annotations

import dataclasses

import discord

from bot.jobs.visibility import Viewer, visible_queue
from bot.ui.embeds import details_embed, queue_embed, result_embed
from bot.ui.text import EMBED_TOTAL_MAX
from generation.recipes.recipe import Recipe, build_order
from generation.request import MAX_SCENE_CHARS
from tests.bot.jobs.test_visibility import job

LINK = "[Claim Nitro](https://evil.example)"


def _texts(embed: discord.Embed) -> list[str]:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    return parts + [f"{f.name} {f.value}" for f in embed.fields]


def test_a_local_model_folder_is_shown_by_its_name() -> None:
    card = details_embed(job(1, 1, 10), [7], model="/srv/models/my-audioldm2", gen_seconds=1.0)
    (model,) = [f.value for f in card.fields if f.name == "Model"]
    assert model == "my-audioldm2"
    assert "my-audioldm2" in (result_embed(job(1, 1, 10), model="/srv/models/my-audioldm2").description or "")
    assert "/srv" not in (result_embed(job(1, 1, 10), model="/srv/models/my-audioldm2").description or "")
    hub = details_embed(job(1, 1, 10), [7], model="cvssp/audioldm2", gen_seconds=1.0)
    assert [f.value for f in hub.fields if f.name == "Model"] == ["cvssp/audioldm2"]


def test_the_card_is_compact_and_the_details_hold_the_rest() -> None:
    request, recipe = build_order("rain with crickets", duration=10.0, negative="thunder")
    plain_job = dataclasses.replace(job(4, 1, 10), request=request, recipe=recipe, user_id=987654321)
    card = result_embed(plain_job, model="tiny", durations=[10.0], image="spectrogram.png")
    assert card.title == "rain with crickets" and not card.fields
    assert card.description == "🌧️ Rain · 10 s · tiny · <@987654321>"  # who asked, never pinged
    assert (card.footer.text or "").startswith("Job #4 ")  # the marker the bot finds it by
    assert len(card) < 120
    details = details_embed(plain_job, [7], model="tiny", gen_seconds=1.25, durations=[10.0])
    names = {f.name: f.value for f in details.fields}
    assert names["Seed"] == "7" and names["Negative prompt"] == "thunder" and names["Generated in"] == "1.2 s"
    assert "Expanded prompt" in (details.description or "")
    assert not (details.footer.text or "").startswith("Job #")  # not a result: never found as one
    scene_request, scene = build_order("rain:0.8 + distant thunder:0.4 + crickets", duration=5.0)
    looped = dataclasses.replace(scene, loop=True)
    scene_job = dataclasses.replace(job(5, 1, 10), request=scene_request, recipe=looped)
    scene_card = result_embed(scene_job, model="tiny", durations=[4.5, 4.5])
    assert scene_card.title == "rain:0.8 + distant thunder:0.4 + crickets"  # the whole scene
    assert (scene_card.description or "").startswith("3 layers · 4.5 s ×2 loop · tiny")


def test_a_scene_at_the_limit_full_of_markdown_fits_and_shows_no_link() -> None:
    layer = "*`[x](http://y.z)` @everyone <#1> #"
    text = " + ".join([layer * 3] * 4)[:MAX_SCENE_CHARS].rstrip(" +")
    request, recipe = build_order(text, negative=None)
    scene = dataclasses.replace(job(2, 1, 10), request=request, recipe=recipe)
    for card in (
        result_embed(scene, model="tiny", durations=[10.0]),
        details_embed(scene, [7], model="tiny", gen_seconds=1.0, durations=[10.0]),
    ):
        assert len(card) <= EMBED_TOTAL_MAX
        for part in _texts(card):
            assert "://" not in part and "@everyone" not in part and "](" not in part.replace("\\](", "")


def test_a_plain_prompt_card_escapes_title_prompt_and_negative() -> None:
    request, _ = build_order(f"{LINK} rain", negative="# loud <@123456789012345678>")
    plain_job = dataclasses.replace(job(3, 1, 10), request=request, recipe=Recipe())
    card = result_embed(plain_job, model="tiny")
    assert card.title == "\\[Claim Nitro\\](https:\u200b//evil.example) rain"
    details = details_embed(plain_job, [7], model="tiny", gen_seconds=1.0)
    assert "https:\u200b//evil.example" in (details.description or "")
    (negative,) = [f.value for f in details.fields if f.name == "Negative prompt"]
    assert negative.startswith("\\# loud \\<@\u200b")


def test_queue_card_counts_other_servers_and_escapes_names() -> None:
    mine = dataclasses.replace(job(1, 1, 10, text=LINK), user_name="**bob**")
    waiting = [(mine, 3.0), (job(2, 2, 20, text="elsewhere"), 6.0), (job(3, 3, None, text="in a dm"), 9.0)]
    card = queue_embed(visible_queue([], waiting, Viewer(5, 10)), now=0.0)
    text = card.description or ""
    assert "elsewhere" not in text and "in a dm" not in text
    assert text.splitlines()[-1] == "…and 2 from other servers"
    assert "\\[Claim Nitro\\]" in text and "\\*\\*bob\\*\\*" in text
    assert card.footer.text == "0 running · 3 waiting"
    hidden_only = queue_embed(visible_queue([], waiting[1:], Viewer(5, 10)), now=0.0)
    assert hidden_only.description == "2 from other servers."
